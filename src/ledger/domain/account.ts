/**
 * Account state and the fold of an account's events into it.
 *
 * The Lua scripts decide and emit events; this fold only replays them. It therefore does not
 * re-check business rules such as sufficient funds (a replay must reproduce whatever was
 * decided), but it refuses anything that cannot be a faithful history: a version gap, an event
 * for another account or currency, a reservation event for a missing or finished reservation,
 * a commit larger than the remainder, a release that does not give back exactly the remainder,
 * any event after ACCOUNT_CLOSED, and an event whose balanceAfter/heldAfter disagree with the
 * computed state (the corruption detector). Those throw a plain Error: they are faults, never
 * caller errors.
 */
import type { EventType, LedgerEvent } from './events';

export type AccountStatus = 'OPEN' | 'FROZEN' | 'CLOSED';
export type ReservationStatus = 'ACTIVE' | 'COMMITTED' | 'RELEASED' | 'EXPIRED';

export interface ReservationState {
  reservationId: string;
  accountId: string;
  currency: string;
  /** the hold's total size (changed by amends) */
  amount: bigint;
  /** sum of commits so far */
  committed: bigint;
  status: ReservationStatus;
  orderId: string;
  /** epoch ms; 0 = never */
  expiresAtMs: number;
  /** version of the account event that last touched this reservation */
  accountVersion: number;
}

export interface AccountState {
  accountId: string;
  currency: string;
  status: AccountStatus;
  balance: bigint;
  /** sum of remaining(r) over ACTIVE reservations */
  held: bigint;
  overdraftLimit: bigint;
  /** version of the last applied event; gapless from 1 */
  version: number;
  openedAtMs: number;
  metadata: Record<string, string>;
  /** every reservation ever made on the account, finished ones included */
  reservations: Map<string, ReservationState>;
}

/** balance - held; may be negative down to -overdraftLimit. */
export function available(a: AccountState): bigint {
  return a.balance - a.held;
}

/** What is still held by the reservation: amount - committed while ACTIVE, else 0n. */
export function remaining(r: ReservationState): bigint {
  return r.status === 'ACTIVE' ? r.amount - r.committed : 0n;
}

/**
 * A copy that can be changed without touching `a`: new object, metadata and reservations map.
 * Reservation objects are shared; the fold never mutates them, it replaces them.
 */
export function cloneAccountState(a: AccountState): AccountState {
  return { ...a, metadata: { ...a.metadata }, reservations: new Map(a.reservations) };
}

const RESERVATION_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  'FUNDS_RESERVED',
  'RESERVATION_AMENDED',
  'RESERVATION_COMMITTED',
  'RESERVATION_RELEASED',
  'RESERVATION_EXPIRED',
]);

export function isReservationEvent(type: EventType): boolean {
  return RESERVATION_EVENTS.has(type);
}

/**
 * Applies one event. Pure: returns a new state and leaves `state` (and its map, metadata and
 * reservation objects) untouched; the reservations map is copied only for reservation events.
 * Throws Error on a version gap or any inconsistency (see the module comment).
 */
export function applyEvent(state: AccountState | undefined, e: LedgerEvent): AccountState {
  if (state === undefined) return applyOwned(undefined, e);
  const next: AccountState = {
    ...state,
    reservations: isReservationEvent(e.type) ? new Map(state.reservations) : state.reservations,
  };
  return applyOwned(next, e);
}

/**
 * Folds events in order, starting from `from` (a snapshot; not modified) or from nothing.
 * Returns undefined only when there is neither a `from` nor any event.
 * Linear in the number of events: the fold works on one private copy instead of copying the
 * reservations map per event.
 */
export function foldEvents(events: Iterable<LedgerEvent>, from?: AccountState): AccountState | undefined {
  let state = from === undefined ? undefined : cloneAccountState(from);
  for (const e of events) state = applyOwned(state, e);
  return state;
}

/**
 * Applies `e` to `state` in place and returns it (a new state for the first event). For a fold
 * that owns its state and looks at every intermediate step, such as the audit streaming one
 * account's history; a state anyone else holds must go through applyEvent or foldEvents instead.
 * Reservation objects and metadata are still replaced, never mutated, so references taken
 * between steps stay valid.
 */
export function applyEventInPlace(state: AccountState | undefined, e: LedgerEvent): AccountState {
  return applyOwned(state, e);
}

function describe(e: LedgerEvent): string {
  return `event ${e.type} v${e.version} (${e.eventId}) of account ${e.accountId}`;
}

function corrupt(e: LedgerEvent, what: string): never {
  throw new Error(`${describe(e)}: ${what}`);
}

function requirePositive(e: LedgerEvent): void {
  if (e.amount <= 0n) corrupt(e, `amount ${e.amount} must be positive`);
}

/**
 * Applies `e` to `s`, which the caller owns: `s` itself, its reservations map and its scalar
 * fields may be changed in place; metadata and reservation objects are replaced, never mutated.
 */
function applyOwned(s: AccountState | undefined, e: LedgerEvent): AccountState {
  if (!Number.isSafeInteger(e.version)) corrupt(e, 'version is not an integer');
  if (s === undefined) {
    if (e.type !== 'ACCOUNT_OPENED') {
      throw new Error(`version gap: ${describe(e)} on an account with no events (the first must be ACCOUNT_OPENED v1)`);
    }
    if (e.version !== 1) throw new Error(`version gap: ${describe(e)}; ACCOUNT_OPENED must be version 1`);
    return opened(e);
  }
  if (e.version !== s.version + 1) {
    throw new Error(`version gap: ${describe(e)} after version ${s.version}; expected version ${s.version + 1}`);
  }
  if (e.accountId !== s.accountId) corrupt(e, `applied to account ${s.accountId}`);
  if (e.currency !== s.currency) corrupt(e, `currency ${e.currency} differs from the account's ${s.currency}`);
  if (s.status === 'CLOSED') corrupt(e, 'the account is closed (terminal)');

  s.version = e.version;
  switch (e.type) {
    case 'ACCOUNT_OPENED':
      return corrupt(e, 'the account is already open');
    case 'FUNDS_DEPOSITED':
    case 'TRANSFER_CREDITED':
      requirePositive(e);
      s.balance += e.amount;
      break;
    case 'FUNDS_WITHDRAWN':
    case 'TRANSFER_DEBITED':
      requirePositive(e);
      s.balance -= e.amount;
      break;
    case 'FUNDS_RESERVED':
      reserved(s, e);
      break;
    case 'RESERVATION_AMENDED':
      amended(s, e);
      break;
    case 'RESERVATION_COMMITTED':
      committed(s, e);
      break;
    case 'RESERVATION_RELEASED':
    case 'RESERVATION_EXPIRED':
      ended(s, e, e.type === 'RESERVATION_RELEASED' ? 'RELEASED' : 'EXPIRED');
      break;
    case 'ACCOUNT_FROZEN':
      statusChange(s, e, 'FROZEN');
      break;
    case 'ACCOUNT_UNFROZEN':
      statusChange(s, e, 'OPEN');
      break;
    case 'ACCOUNT_CLOSED':
      statusChange(s, e, 'CLOSED');
      break;
    default: {
      const unknown: never = e.type;
      corrupt(e, `unknown event type ${String(unknown)}`);
    }
  }
  checkAfter(s, e);
  return s;
}

function opened(e: LedgerEvent): AccountState {
  const overdraftLimit = e.details.overdraftLimit ?? 0n;
  if (overdraftLimit < 0n) corrupt(e, `overdraftLimit ${overdraftLimit} is negative`);
  if (e.amount !== 0n) corrupt(e, `amount ${e.amount} must be 0 for ACCOUNT_OPENED`);
  const s: AccountState = {
    accountId: e.accountId,
    currency: e.currency,
    status: 'OPEN',
    balance: 0n,
    held: 0n,
    overdraftLimit,
    version: 1,
    openedAtMs: e.occurredAtMs,
    metadata: { ...e.metadata },
    reservations: new Map(),
  };
  checkAfter(s, e);
  return s;
}

function statusChange(s: AccountState, e: LedgerEvent, status: AccountStatus): void {
  if (e.amount !== 0n) corrupt(e, `amount ${e.amount} must be 0 for a status event`);
  s.status = status;
}

function activeReservation(s: AccountState, e: LedgerEvent): ReservationState {
  const r = s.reservations.get(e.reservationId);
  if (r === undefined) corrupt(e, `reservation ${JSON.stringify(e.reservationId)} does not exist`);
  if (r.status !== 'ACTIVE') corrupt(e, `reservation ${e.reservationId} is ${r.status}, not ACTIVE`);
  return r;
}

function reserved(s: AccountState, e: LedgerEvent): void {
  requirePositive(e);
  if (e.reservationId === '') corrupt(e, 'reservationId is empty');
  if (s.reservations.has(e.reservationId)) corrupt(e, `reservation ${e.reservationId} already exists`);
  s.reservations.set(e.reservationId, {
    reservationId: e.reservationId,
    accountId: e.accountId,
    currency: e.currency,
    amount: e.amount,
    committed: 0n,
    status: 'ACTIVE',
    orderId: e.details.orderId ?? '',
    expiresAtMs: e.details.expiresAtMs ?? 0,
    accountVersion: e.version,
  });
  s.held += e.amount;
}

function amended(s: AccountState, e: LedgerEvent): void {
  const r = activeReservation(s, e);
  const newAmount = e.amount;
  if (e.details.newAmount !== undefined && e.details.newAmount !== newAmount) {
    corrupt(e, `details.newAmount ${e.details.newAmount} differs from amount ${newAmount}`);
  }
  requirePositive(e);
  if (newAmount < r.committed) {
    corrupt(e, `new amount ${newAmount} is below the ${r.committed} already committed`);
  }
  s.held += newAmount - r.amount;
  // Amended down to exactly what was committed, nothing is left to hold: the reservation is done
  // (lua/amend_reservation.lua does the same).
  const status = newAmount === r.committed ? 'COMMITTED' : 'ACTIVE';
  s.reservations.set(r.reservationId, { ...r, amount: newAmount, status, accountVersion: e.version });
}

function committed(s: AccountState, e: LedgerEvent): void {
  const r = activeReservation(s, e);
  requirePositive(e);
  const rest = r.amount - r.committed;
  if (e.amount > rest) corrupt(e, `commit ${e.amount} exceeds the remaining ${rest} of reservation ${r.reservationId}`);
  const total = r.committed + e.amount;
  s.held -= e.amount;
  s.balance -= e.amount;
  s.reservations.set(r.reservationId, {
    ...r,
    committed: total,
    status: total === r.amount ? 'COMMITTED' : 'ACTIVE',
    accountVersion: e.version,
  });
}

function ended(s: AccountState, e: LedgerEvent, status: 'RELEASED' | 'EXPIRED'): void {
  const r = activeReservation(s, e);
  const rest = r.amount - r.committed;
  if (e.amount !== rest) {
    corrupt(e, `gives back ${e.amount} but reservation ${r.reservationId} has ${rest} remaining`);
  }
  s.held -= rest;
  s.reservations.set(r.reservationId, { ...r, status, accountVersion: e.version });
}

function checkAfter(s: AccountState, e: LedgerEvent): void {
  if (e.balanceAfter !== s.balance || e.heldAfter !== s.held) {
    corrupt(
      e,
      `balanceAfter/heldAfter ${e.balanceAfter}/${e.heldAfter} disagree with the folded ${s.balance}/${s.held} ` +
        '(corrupt history)',
    );
  }
}
