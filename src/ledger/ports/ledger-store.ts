import type { AccountState, ReservationState } from '../domain/account';

/** An account as a reply shows it: its state without the reservations. */
export type AccountSnapshot = Omit<AccountState, 'reservations'>;

/**
 * Ids of the events a mutation appended (for a replay: the original's, or the account's last);
 * a durable acknowledgement waits until exactly these are stored. Empty when nothing is pending
 * (a replay answered from the event store).
 */
export type PendingEvents = readonly string[];

export interface AccountResult {
  account: AccountSnapshot;
  replayed: boolean;
  events: PendingEvents;
}

export interface TransferResult {
  from: AccountSnapshot;
  to: AccountSnapshot;
  replayed: boolean;
  events: PendingEvents;
}

export interface ReservationResult {
  reservation: ReservationState;
  account: AccountSnapshot;
  replayed: boolean;
  events: PendingEvents;
}

/** What every mutating call carries besides its own parameters. */
export interface CallContext {
  /** W3C traceparent of the call, stored with its events ("" when not traced) */
  traceparent: string;
}

export interface OpenAccountInput {
  accountId: string;
  currency: string;
  overdraftLimit: bigint;
  metadata: Record<string, string>;
}

export interface MovementInput {
  transactionId: string;
  accountId: string;
  currency: string;
  amount: bigint;
  metadata: Record<string, string>;
}

export interface TransferInput {
  transactionId: string;
  fromAccountId: string;
  toAccountId: string;
  currency: string;
  amount: bigint;
  metadata: Record<string, string>;
}

export interface ReserveInput {
  reservationId: string;
  accountId: string;
  currency: string;
  amount: bigint;
  orderId: string;
  ttlSeconds: number;
}

export interface AmendInput {
  reservationId: string;
  amendId: string;
  currency: string;
  newAmount: bigint;
}

export interface CommitInput {
  reservationId: string;
  commitId: string;
  currency: string;
  amount: bigint;
  final: boolean;
}

export interface ReleaseInput {
  reservationId: string;
  reason: string;
}

export type StatusTarget = 'OPEN' | 'FROZEN' | 'CLOSED';

/**
 * The port the command handlers use for the live state of accounts. Every mutation is atomic,
 * idempotent by the client's id, and appends its events to the outbox in the same step.
 * Rejections are thrown as LedgerError with the contract's reason.
 */
export abstract class LedgerStore {
  abstract openAccount(input: OpenAccountInput, ctx: CallContext): Promise<AccountResult>;
  abstract changeStatus(
    accountId: string,
    target: StatusTarget,
    reason: string,
    ctx: CallContext,
  ): Promise<AccountResult>;
  abstract deposit(input: MovementInput, ctx: CallContext): Promise<AccountResult>;
  abstract withdraw(input: MovementInput, ctx: CallContext): Promise<AccountResult>;
  abstract transfer(input: TransferInput, ctx: CallContext): Promise<TransferResult>;
  abstract reserve(input: ReserveInput, ctx: CallContext): Promise<ReservationResult>;
  abstract amend(input: AmendInput, ctx: CallContext): Promise<ReservationResult>;
  abstract commit(input: CommitInput, ctx: CallContext): Promise<ReservationResult>;
  abstract release(input: ReleaseInput, ctx: CallContext): Promise<ReservationResult>;
  abstract getAccount(accountId: string): Promise<AccountSnapshot>;
  abstract getReservation(reservationId: string): Promise<ReservationResult>;
}
