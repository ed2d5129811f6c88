import { type AccountState, applyEventInPlace, type ReservationState } from '../ledger/domain/account';
import type { LedgerEvent } from '../ledger/domain/events';
import { checkInvariants } from '../ledger/domain/invariants';
import type { AccountSnapshot } from '../ledger/ports/ledger-store';
import { ACCOUNT_FIELDS, RESERVATION_FIELDS } from './audit-fields';
import { compareFields, type Difference } from './differences';

/** The last event an idempotency key produced on this account, with the state right after it. */
export interface KeyOutcome {
  version: number;
  eventId: string;
  account: AccountSnapshot;
  /** the reservation the event touched, as it stood right after it */
  reservation: ReservationState | undefined;
}

function scalars(s: AccountState): AccountSnapshot {
  return {
    accountId: s.accountId,
    currency: s.currency,
    status: s.status,
    balance: s.balance,
    held: s.held,
    overdraftLimit: s.overdraftLimit,
    version: s.version,
    openedAtMs: s.openedAtMs,
    metadata: s.metadata,
  };
}

/**
 * One account's stored history, folded as it streams in (memory: the account's state and one
 * entry per idempotency key it used). Once the history is found broken (a gap, an event the fold
 * refuses) later events are only counted: every difference after that point would be noise.
 */
export class AccountFold {
  state: AccountState | undefined;
  events = 0;
  private broken = false;
  readonly differences: Difference[] = [];
  readonly keys = new Map<string, KeyOutcome>();
  private readonly snapshots = new Map<number, AccountState>();

  constructor(readonly accountId: string) {}

  /** A stored snapshot to compare with the fold when it reaches the snapshot's version. */
  expectSnapshot(snapshot: AccountState): void {
    if (snapshot.version > (this.state?.version ?? 0)) this.snapshots.set(snapshot.version, snapshot);
  }

  add(e: LedgerEvent): void {
    this.events++;
    if (this.broken) return;
    const expected = (this.state?.version ?? 0) + 1;
    if (e.version !== expected) {
      this.fail(
        'postgres.version',
        `event ${e.eventId} has version ${e.version}, expected ${expected} (gap or duplicate)`,
      );
      return;
    }
    try {
      this.state = applyEventInPlace(this.state, e);
    } catch (error) {
      this.fail('postgres.events', error instanceof Error ? error.message : String(error));
      return;
    }
    if (e.idempotencyKey !== '') {
      this.keys.set(e.idempotencyKey, {
        version: e.version,
        eventId: e.eventId,
        account: scalars(this.state),
        reservation: e.reservationId === '' ? undefined : this.state.reservations.get(e.reservationId),
      });
    }
    const snapshot = this.snapshots.get(e.version);
    if (snapshot) {
      this.snapshots.delete(e.version);
      this.compareSnapshot(snapshot);
    }
  }

  /** Marks the history broken at this point (also for a row that is not even an event). */
  fail(field: string, detail: string): void {
    if (this.broken) return;
    this.broken = true;
    this.differences.push({ account: this.accountId, field, detail });
  }

  private compareSnapshot(snapshot: AccountState): void {
    const state = this.state as AccountState;
    const prefix = `postgres.snapshot[v${snapshot.version}].`;
    const sides = ['snapshot', 'fold'] as const;
    compareFields(this.differences, this.accountId, prefix, sides, snapshot, state, ACCOUNT_FIELDS);
    const active = [...state.reservations.values()].filter((r) => r.status === 'ACTIVE');
    const ids = new Set([...active.map((r) => r.reservationId), ...snapshot.reservations.keys()]);
    for (const id of ids) {
      const stored = snapshot.reservations.get(id);
      const folded = state.reservations.get(id);
      const where = `${prefix}reservations[${id}]`;
      if (!stored || !folded || folded.status !== 'ACTIVE') {
        const detail = !stored
          ? 'missing in the snapshot, ACTIVE in the fold'
          : 'in the snapshot, not ACTIVE in the fold';
        this.differences.push({ account: this.accountId, field: where, detail });
        continue;
      }
      compareFields(this.differences, this.accountId, `${where}.`, sides, stored, folded, RESERVATION_FIELDS);
    }
  }

  /** After the last event: invariants of the folded state, snapshots no event reached. */
  finish(): void {
    if (this.broken) return;
    if (!this.state) {
      this.differences.push({ account: this.accountId, field: 'postgres.events', detail: 'no events' });
      return;
    }
    for (const violation of checkInvariants(this.state)) {
      this.differences.push({ account: this.accountId, field: 'postgres.invariants', detail: violation });
    }
    for (const version of this.snapshots.keys()) {
      this.differences.push({
        account: this.accountId,
        field: `postgres.snapshot[v${version}]`,
        detail: `a snapshot beyond the last event (v${this.state.version})`,
      });
    }
  }

  /** Whether the fold produced a state to compare others with. */
  get usable(): boolean {
    return !this.broken && this.state !== undefined;
  }
}
