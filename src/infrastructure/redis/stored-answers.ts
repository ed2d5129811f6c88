import type { AccountState } from '../../ledger/domain/account';
import { LedgerError } from '../../ledger/domain/errors';
import type {
  AccountResult,
  AccountSnapshot,
  ReservationResult,
  TransferResult,
} from '../../ledger/ports/ledger-store';
import { guardPostgres } from '../postgres/postgres-errors';
import type { AccountRecovery, PriorOutcome } from '../recovery/account-recovery';

function snapshot(state: AccountState): AccountSnapshot {
  const { reservations: _, ...account } = state;
  return account;
}

/**
 * Answers that come from the event store instead of Redis: replays of ids older than Redis's
 * retention (the state right after the original call), and reservations that ended before their
 * account's newest snapshot (so a rebuilt Redis does not hold them).
 */
export class StoredAnswers {
  constructor(private readonly recovery: AccountRecovery) {}

  /** What the event store says an idempotency key produced (undefined: never seen). */
  prior(idempotencyKey: string): Promise<PriorOutcome | undefined> {
    return guardPostgres(this.recovery.priorOutcome(idempotencyKey));
  }

  /** A replay answered from the event store: the same parameters, or a conflict. */
  private static checkHash(prior: PriorOutcome, requestHash: string): void {
    if (prior.records.some((r) => r.requestHash !== requestHash)) {
      throw new LedgerError('IDEMPOTENCY_CONFLICT', 'this id was used before with different parameters');
    }
  }

  private async stateAt(accountId: string, version: number, reservationId?: string): Promise<AccountState> {
    const state = await guardPostgres(
      reservationId
        ? this.recovery.stateWithReservation(accountId, version, reservationId)
        : this.recovery.stateAt(accountId, version),
    );
    if (!state) throw new Error(`event store lost ${accountId} v${version}`);
    return state;
  }

  async account(prior: PriorOutcome, requestHash: string): Promise<AccountResult> {
    StoredAnswers.checkHash(prior, requestHash);
    const record = prior.records[0];
    if (!record) throw new Error('empty prior outcome');
    return { account: snapshot(await this.stateAt(record.accountId, record.version)), replayed: true, events: [] };
  }

  async reservation(prior: PriorOutcome, requestHash: string, reservationId: string): Promise<ReservationResult> {
    StoredAnswers.checkHash(prior, requestHash);
    const record = prior.records[0];
    if (!record) throw new Error('empty prior outcome');
    const state = await this.stateAt(record.accountId, record.version, reservationId);
    const reservation = state.reservations.get(reservationId);
    if (!reservation) throw new Error(`event store lost reservation ${reservationId}`);
    return { reservation, account: snapshot(state), replayed: true, events: [] };
  }

  /** Both sides of a stored transfer; undefined while only one is stored (Redis answers then). */
  async transfer(
    prior: PriorOutcome,
    requestHash: string,
    fromAccountId: string,
    toAccountId: string,
  ): Promise<TransferResult | undefined> {
    StoredAnswers.checkHash(prior, requestHash);
    const from = prior.records.find((r) => r.accountId === fromAccountId);
    const to = prior.records.find((r) => r.accountId === toAccountId);
    if (!from || !to) return undefined;
    const [fromState, toState] = await Promise.all([
      this.stateAt(from.accountId, from.version),
      this.stateAt(to.accountId, to.version),
    ]);
    return { from: snapshot(fromState), to: snapshot(toState), replayed: true, events: [] };
  }

  /**
   * A reservation Redis does not hold even after its account was restored ended before the
   * account's newest snapshot (only active ones are restored). Answers as Redis would have:
   * releasing a released one again is a replay; anything else on an ended one is NOT_ACTIVE.
   */
  async endedReservation(reservationId: string, releasing: boolean): Promise<ReservationResult | undefined> {
    const stored = await guardPostgres(this.recovery.reservationFromHistory(reservationId));
    if (!stored) return undefined;
    const { reservation } = stored;
    if (releasing && reservation.status === 'RELEASED') {
      return { reservation, account: snapshot(stored.account), replayed: true, events: [] };
    }
    throw new LedgerError('RESERVATION_NOT_ACTIVE', `reservation ${reservationId} is ${reservation.status}`);
  }

  /** A reservation as it ended, for a read (GetReservation) of one Redis no longer holds. */
  async readEnded(reservationId: string): Promise<ReservationResult | undefined> {
    const stored = await guardPostgres(this.recovery.reservationFromHistory(reservationId));
    if (!stored) return undefined;
    return { reservation: stored.reservation, account: snapshot(stored.account), replayed: false, events: [] };
  }
}
