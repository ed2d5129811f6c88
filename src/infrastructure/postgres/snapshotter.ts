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
  private working = false;

  constructor(
    private readonly events: PostgresEventStore,
    private readonly options: SnapshotterOptions,
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly onDropped: () => void = () => undefined,
  ) {}

  /** Notes stored events; schedules a snapshot for every one whose version is a multiple of N. */
  noteStored(events: readonly { accountId: string; version: number }[]): void {
    for (const e of events) {
      if (e.version % this.options.every !== 0) continue;
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
          if (state) await this.events.writeSnapshot(state);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.working = false;
    }
  }
}
