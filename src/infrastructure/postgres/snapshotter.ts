import { BoundedCache } from '../redis/bounded-cache';
import type { PostgresEventStore } from './postgres-event-store';

export interface SnapshotterOptions {
  /** a snapshot is due at every version that is a multiple of this */
  every: number;
  /** bound on snapshots waiting to be written; past it new ones are dropped (they are only a speed-up) */
  queueMax: number;
}

/**
 * Writes account snapshots every N events, after the relay stored them, one at a time in the
 * background so that the relay never waits for it. A snapshot is the fold of the stored events,
 * so a dropped or failed one costs only a longer fold later.
 */
export class Snapshotter {
  private readonly due = new Map<string, number>();
  /**
   * Accounts whose last snapshot held more active reservations than N: no new snapshot before
   * this version. A snapshot carries every active hold, so on an account with H holds writing
   * one every N events costs O(H) per N events; spacing them at least H events apart keeps the
   * cost per event bounded, and a rebuild still folds at most max(N, H) events after one.
   * Bounded like the queue; an account that falls out is snapshotted every N again.
   */
  private readonly notBefore: BoundedCache<string, number>;
  private working = false;

  constructor(
    private readonly events: PostgresEventStore,
    private readonly options: SnapshotterOptions,
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly onDropped: () => void = () => undefined,
  ) {
    this.notBefore = new BoundedCache(options.queueMax);
  }

  /** Notes stored events; schedules a snapshot for every one whose version is a multiple of N. */
  noteStored(events: readonly { accountId: string; version: number }[]): void {
    for (const e of events) {
      if (e.version % this.options.every !== 0) continue;
      if (e.version < (this.notBefore.get(e.accountId) ?? 0)) continue;
      if (!this.due.has(e.accountId) && this.due.size >= this.options.queueMax) {
        this.onDropped();
        continue;
      }
      this.due.set(e.accountId, Math.max(this.due.get(e.accountId) ?? 0, e.version));
    }
    if (this.due.size > 0 && !this.working) void this.drain();
  }

  private async drain(): Promise<void> {
    this.working = true;
    try {
      for (const [accountId, version] of this.due) {
        this.due.delete(accountId);
        try {
          const state = await this.events.foldUpTo(accountId, version, version);
          if (!state) continue;
          await this.events.writeSnapshot(state);
          let holds = 0;
          for (const r of state.reservations.values()) if (r.status === 'ACTIVE') holds++;
          if (holds > this.options.every) this.notBefore.set(accountId, version + holds);
          else this.notBefore.delete(accountId);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.working = false;
    }
  }
}
