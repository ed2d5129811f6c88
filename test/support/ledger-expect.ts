import { status } from '@grpc/grpc-js';
import { type DecodedError, expectFailure, type LedgerClient, type Reply } from './ledger-client';
import { uid } from './ledger-app';

/**
 * The gRPC code of every ErrorReason, copied from the comments of proto/ledger/v1/ledger.proto
 * (the contract), not from the server's own table, so that a wrong mapping in src/ shows up.
 */
export const CODE_OF_REASON: Readonly<Record<string, status>> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_AMOUNT: status.INVALID_ARGUMENT,
  UNKNOWN_CURRENCY: status.INVALID_ARGUMENT,
  CURRENCY_MISMATCH: status.INVALID_ARGUMENT,
  ACCOUNT_NOT_FOUND: status.NOT_FOUND,
  ACCOUNT_EXISTS: status.ALREADY_EXISTS,
  ACCOUNT_FROZEN: status.FAILED_PRECONDITION,
  ACCOUNT_CLOSED: status.FAILED_PRECONDITION,
  ACCOUNT_NOT_EMPTY: status.FAILED_PRECONDITION,
  INSUFFICIENT_FUNDS: status.FAILED_PRECONDITION,
  RESERVATION_NOT_FOUND: status.NOT_FOUND,
  RESERVATION_NOT_ACTIVE: status.FAILED_PRECONDITION,
  COMMIT_EXCEEDS_RESERVATION: status.FAILED_PRECONDITION,
  AMEND_BELOW_COMMITTED: status.FAILED_PRECONDITION,
  IDEMPOTENCY_CONFLICT: status.ALREADY_EXISTS,
  AMOUNT_OUT_OF_RANGE: status.OUT_OF_RANGE,
  DEPENDENCY_UNAVAILABLE: status.UNAVAILABLE,
  OVERLOADED: status.RESOURCE_EXHAUSTED,
};

/** Asserts that a decoded error carries `reason` exactly as the contract says: code, ErrorInfo, message prefix. */
export function expectReason(error: DecodedError, reason: string): void {
  const code = CODE_OF_REASON[reason];
  if (code === undefined) throw new Error(`not a contract reason: ${reason}`);
  expect({
    code: error.code,
    reason: error.reason,
    domain: error.domain,
    prefix: error.message.slice(0, reason.length + 2),
  }).toEqual({
    code,
    reason,
    domain: 'ledger.v1',
    prefix: `${reason}: `,
  });
}

/** Awaits a call that must fail with `reason`; returns the decoded error for further checks of the message. */
export async function expectRejected(call: Promise<unknown>, reason: string): Promise<DecodedError> {
  const error = await expectFailure(call);
  expectReason(error, reason);
  return error;
}

export interface MoneyMessage {
  amount: string;
  currency: string;
}

export function money(amount: string, currency = 'USD'): MoneyMessage {
  return { amount, currency };
}

/** Small wrappers over the real gRPC client for the steps many tests share. */
export class LedgerDriver {
  constructor(readonly client: LedgerClient) {}

  call(method: string, request: object): Promise<Reply> {
    return this.client.call(method, request);
  }

  /** Opens a fresh account; returns its id. */
  async open(currency = 'USD', overdraftLimit = '', metadata: Record<string, string> = {}): Promise<string> {
    const accountId = uid('acct');
    await this.client.call('OpenAccount', { accountId, currency, overdraftLimit, metadata });
    return accountId;
  }

  async deposit(accountId: string, amount: string, currency = 'USD'): Promise<Reply> {
    return this.client.call('Deposit', { transactionId: uid('dep'), accountId, amount: money(amount, currency) });
  }

  /** Opens an account and deposits `amount` (unless empty): version 2 after a deposit, 1 otherwise. */
  async funded(amount: string, currency = 'USD', overdraftLimit = ''): Promise<string> {
    const accountId = await this.open(currency, overdraftLimit);
    if (amount !== '') await this.deposit(accountId, amount, currency);
    return accountId;
  }

  async account(accountId: string): Promise<Reply> {
    const reply = await this.client.call('GetAccount', { accountId });
    return reply['account'] as Reply;
  }

  async reservation(reservationId: string): Promise<Reply> {
    return this.client.call('GetReservation', { reservationId });
  }

  async reserve(
    accountId: string,
    amount: string,
    extra: { reservationId?: string; currency?: string; orderId?: string; ttlSeconds?: number } = {},
  ): Promise<Reply> {
    return this.client.call('Reserve', {
      reservationId: extra.reservationId ?? uid('res'),
      accountId,
      amount: money(amount, extra.currency ?? 'USD'),
      orderId: extra.orderId ?? '',
      ttlSeconds: extra.ttlSeconds ?? 0,
    });
  }
}

/** The balance fields of an account reply, for compact exact assertions. */
export function figures(account: Reply): { balance: string; held: string; available: string; version: string } {
  return {
    balance: account['balance'],
    held: account['held'],
    available: account['available'],
    version: account['version'],
  };
}
