import { LedgerError } from '../../ledger/domain/errors';
import type { ReservationResult } from '../../ledger/ports/ledger-store';
import { guardPostgres } from '../postgres/postgres-errors';
import type { AccountRecovery } from '../recovery/account-recovery';
import type { StoredAnswers } from './stored-answers';

function isNotFound(error: unknown, ...reasons: string[]): boolean {
  return error instanceof LedgerError && reasons.includes(error.reason);
}

/**
 * The answers of the event store behind Redis, around a Redis step: what Redis does not hold
 * (flushed, restarted, a new node, or ended long ago) may still be in the event store. Without
 * an event store (tests of the scripts alone) every step runs as it is.
 */
export class RestoringCalls {
  constructor(
    private readonly recovery: AccountRecovery | undefined,
    private readonly stored: StoredAnswers | undefined,
  ) {}

  /**
   * Runs `work`; if Redis does not know an account (or a reservation) the event store may know,
   * rebuilds the accounts and runs it once more.
   */
  async withRestore<T>(accountIds: readonly string[], work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!isNotFound(error, 'ACCOUNT_NOT_FOUND', 'RESERVATION_NOT_FOUND') || !this.recovery) throw error;
      let restored = false;
      for (const accountId of accountIds) {
        if (await guardPostgres(this.recovery.restore(accountId))) restored = true;
      }
      if (!restored) throw error;
      return work();
    }
  }

  /**
   * Runs `work`; a reservation Redis does not hold may have ended long ago: answered as such
   * (`releasing`: a release of it is a replay) by StoredAnswers.
   */
  async orEnded(
    reservationId: string,
    releasing: boolean,
    work: () => Promise<ReservationResult>,
  ): Promise<ReservationResult> {
    try {
      return await work();
    } catch (error) {
      if (!isNotFound(error, 'RESERVATION_NOT_FOUND') || !this.stored) throw error;
      const answer = await this.stored.endedReservation(reservationId, releasing);
      if (!answer) throw error;
      return answer;
    }
  }

  /** Runs `work`; a reservation that ended before its account's newest snapshot is read from the store. */
  async orReadEnded(reservationId: string, work: () => Promise<ReservationResult>): Promise<ReservationResult> {
    try {
      return await work();
    } catch (error) {
      if (!isNotFound(error, 'RESERVATION_NOT_FOUND') || !this.stored) throw error;
      const stored = await this.stored.readEnded(reservationId);
      if (!stored) throw error;
      return stored;
    }
  }
}
