import type { AccountStatus, ReservationState, ReservationStatus } from '../../ledger/domain/account';
import { type ErrorReason, LedgerError, isErrorReason } from '../../ledger/domain/errors';
import type { AccountResult, AccountSnapshot, ReservationResult } from '../../ledger/ports/ledger-store';

/** The JSON shapes the Lua scripts reply with (lua/lib/prelude.lua: account_view, reservation_view). */
interface AccountView {
  id: string;
  cur: string;
  st: string;
  bal: string;
  held: string;
  od: string;
  ver: string;
  opened: string;
  meta: string;
}

interface ReservationView {
  id: string;
  acct: string;
  cur: string;
  amt: string;
  com: string;
  st: string;
  oid: string;
  exp: string;
  aver: string;
}

export interface ScriptReply {
  account: AccountView;
  reservation?: ReservationView;
  to?: AccountView;
  /** ids of the events the call appended (or, for a replay of current state, the account's last) */
  ev?: string[];
}

export interface AppliedReply {
  body: ScriptReply;
  replayed: boolean;
}

const ACCOUNT_STATUSES: readonly AccountStatus[] = ['OPEN', 'FROZEN', 'CLOSED'];
const RESERVATION_STATUSES: readonly ReservationStatus[] = ['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'];

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`unexpected ${what} "${value}" from Redis`);
  return value as T;
}

export function toAccount(view: AccountView): AccountSnapshot {
  return {
    accountId: view.id,
    currency: view.cur,
    status: oneOf(view.st, ACCOUNT_STATUSES, 'account status'),
    balance: BigInt(view.bal),
    held: BigInt(view.held),
    overdraftLimit: BigInt(view.od),
    version: Number(view.ver),
    openedAtMs: Number(view.opened),
    metadata: JSON.parse(view.meta) as Record<string, string>,
  };
}

export function toReservation(view: ReservationView): ReservationState {
  return {
    reservationId: view.id,
    accountId: view.acct,
    currency: view.cur,
    amount: BigInt(view.amt),
    committed: BigInt(view.com),
    status: oneOf(view.st, RESERVATION_STATUSES, 'reservation status'),
    orderId: view.oid,
    expiresAtMs: Number(view.exp),
    accountVersion: Number(view.aver),
  };
}

/**
 * Turns a script's {status, body} reply into the applied result, or throws the business reject
 * as a LedgerError. `renderMoney` turns the {m:N:CUR} placeholders of a detail into decimals.
 */
export function interpretReply(raw: unknown, renderMoney: (minor: bigint, currency: string) => string): AppliedReply {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== 'string' || typeof raw[1] !== 'string') {
    throw new Error(`malformed script reply: ${JSON.stringify(raw)}`);
  }
  const [status, body] = raw as [string, string];
  if (status === 'OK' || status === 'REPLAY') {
    return { body: JSON.parse(body) as ScriptReply, replayed: status === 'REPLAY' };
  }
  if (!isErrorReason(status)) throw new Error(`unknown script status ${status}`);
  const names = AMOUNT_FACTS[status] ?? [];
  const facts: Record<string, string> = {};
  let index = 0;
  const detail = body.replace(/\{m:(-?[0-9]+):([A-Z0-9]+)\}/g, (_, minor: string, currency: string) => {
    const rendered = renderMoney(BigInt(minor), currency);
    // "650.00 USD" -> "650.00"; anything else (a currency this process does not know) as rendered
    const decimal = /^(-?[0-9]+(?:\.[0-9]+)?) [A-Z0-9]+$/.exec(rendered)?.[1];
    facts[names[index] ?? `amount_${index + 1}`] = decimal ?? rendered;
    facts['currency'] = currency;
    index++;
    return rendered;
  });
  throw new LedgerError(status, detail, facts);
}

/** The events a durable acknowledgement of this reply waits for (see DurabilityWaiter). */
export function pendingEvents(reply: AppliedReply): string[] {
  return Array.isArray(reply.body.ev) ? reply.body.ev : [];
}

export function accountResultOf(reply: AppliedReply): AccountResult {
  return { account: toAccount(reply.body.account), replayed: reply.replayed, events: pendingEvents(reply) };
}

export function reservationResultOf(reply: AppliedReply): ReservationResult {
  if (!reply.body.reservation) throw new Error('script reply without reservation');
  return {
    reservation: toReservation(reply.body.reservation),
    account: toAccount(reply.body.account),
    replayed: reply.replayed,
    events: pendingEvents(reply),
  };
}

/**
 * What the amounts of a reject's detail are, in the order the scripts write them (lua/*.lua:
 * e.g. reserve.lua's 'available {m} < {m}'), so that the caller gets them by name in the
 * ErrorInfo metadata, with the currency.
 */
const AMOUNT_FACTS: Partial<Record<ErrorReason, readonly string[]>> = {
  INSUFFICIENT_FUNDS: ['available', 'requested'],
  AMEND_BELOW_COMMITTED: ['new_amount', 'committed'],
  COMMIT_EXCEEDS_RESERVATION: ['requested', 'remaining'],
  ACCOUNT_NOT_EMPTY: ['balance', 'held'],
  AMOUNT_OUT_OF_RANGE: ['limit'],
};
