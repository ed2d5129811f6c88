import type { AccountState } from '../domain/account';
import type { LedgerEvent } from '../domain/events';

export type PointInTime = { version: number } | { timeMs: number };

/** The event store as the history queries see it (ListAccountEvents, GetBalanceAt). */
export abstract class EventHistory {
  /** An account's events from `fromVersion` on, in version order, at most `limit`. */
  abstract listEvents(accountId: string, fromVersion: number, limit: number): Promise<LedgerEvent[]>;
  /** The account as it stood at a version or a time; undefined if it did not exist yet. */
  abstract stateAt(accountId: string, at: PointInTime): Promise<AccountState | undefined>;
}
