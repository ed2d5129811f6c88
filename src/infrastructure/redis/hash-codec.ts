import type { AccountStatus, ReservationState, ReservationStatus } from '../../ledger/domain/account';
import type { AccountSnapshot } from '../../ledger/ports/ledger-store';

/*
 * The Redis hashes of an account and of a reservation, field by field: the one place on the
 * TypeScript side that names their fields. The scripts name them in lua/lib/prelude.lua
 * (ACCOUNT_FIELDS, RESERVATION_FIELDS; hash-codec.spec.ts keeps both lists equal to these), and
 * their JSON replies (account_view, reservation_view) use the same names.
 */

/** An account's hash: h is the parameter hash of its opening, lev the id of its last event. */
export const ACCOUNT_HASH_FIELDS = [
  'id',
  'cur',
  'st',
  'bal',
  'held',
  'od',
  'ver',
  'opened',
  'meta',
  'h',
  'lev',
] as const;

/** A reservation's hash: aver is the account version of its last change, h its parameter hash. */
export const RESERVATION_HASH_FIELDS = ['id', 'acct', 'cur', 'amt', 'com', 'st', 'oid', 'exp', 'aver', 'h'] as const;

export type AccountHash = Record<(typeof ACCOUNT_HASH_FIELDS)[number], string>;
export type ReservationHash = Record<(typeof RESERVATION_HASH_FIELDS)[number], string>;

/** An account as the scripts reply with it (account_view), or as its hash holds it. */
export type AccountView = Omit<AccountHash, 'h' | 'lev'>;
/** A reservation as the scripts reply with it (reservation_view), or as its hash holds it. */
export type ReservationView = Omit<ReservationHash, 'h'>;

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

/** An account's hash as a restore writes it (no last event: the restored state's is stored). */
export function accountHash(state: AccountSnapshot, requestHash: string): Omit<AccountHash, 'lev'> {
  return {
    id: state.accountId,
    cur: state.currency,
    st: state.status,
    bal: state.balance.toString(),
    held: state.held.toString(),
    od: state.overdraftLimit.toString(),
    ver: String(state.version),
    opened: String(state.openedAtMs),
    meta: JSON.stringify(state.metadata),
    h: requestHash,
  };
}

export function reservationHash(r: ReservationState, requestHash: string): ReservationHash {
  return {
    id: r.reservationId,
    acct: r.accountId,
    cur: r.currency,
    amt: r.amount.toString(),
    com: r.committed.toString(),
    st: r.status,
    oid: r.orderId,
    exp: String(r.expiresAtMs),
    aver: String(r.accountVersion),
    h: requestHash,
  };
}
