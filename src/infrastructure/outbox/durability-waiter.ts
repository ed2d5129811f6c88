import { setTimeout as sleep } from 'node:timers/promises';
import { LedgerError } from '../../ledger/domain/errors';
import { BoundedCache } from '../redis/bounded-cache';

export interface DurabilityWaiterOptions {
  timeoutMs: number;
  /** while waiting, ask Postgres this often (a lost notification costs at most this much) */
  pollMs: number;
  /** bound on calls waiting at once; past it new calls get OVERLOADED */
  waitersMax: number;
  /** bound on recently stored event ids remembered (a report may arrive before its call waits) */
  recentMax: number;
}

/**
 * Durable acknowledgements: a mutating call is answered only once Postgres holds the very events
 * it appended (by event id: after Redis lost data, a version number may be reused by another
 * event, so a version proves nothing). The relay reports stored ids as it commits (in this
 * process directly, from other instances over Redis pub/sub); a waiter also polls Postgres, so
 * a lost report delays an answer but never hangs it. Past the timeout the call fails with
 * UNAVAILABLE: its change is in Redis and will be stored, or was lost with Redis and is not
 * acknowledged; either way a retry with the same id is safe.
 */
export class DurabilityWaiter {
  private readonly recent: BoundedCache<string, true>;
  private readonly waiters = new Map<string, Set<() => void>>();
  private waiting = 0;

  constructor(
    private readonly options: DurabilityWaiterOptions,
    /** the subset of `eventIds` Postgres holds */
    private readonly stored: (eventIds: readonly string[]) => Promise<ReadonlySet<string>>,
  ) {
    this.recent = new BoundedCache(options.recentMax);
  }

  /** The relay stored these events: wake the calls waiting for them. */
  onStored(eventIds: Iterable<string>): void {
    for (const id of eventIds) {
      this.recent.set(id, true);
      const wake = this.waiters.get(id);
      if (!wake) continue;
      this.waiters.delete(id);
      for (const resolve of wake) resolve();
    }
  }

  async waitFor(eventIds: readonly string[]): Promise<void> {
    let missing = eventIds.filter((id) => this.recent.get(id) === undefined);
    if (missing.length === 0) return;
    if (this.waiting >= this.options.waitersMax) {
      throw new LedgerError('OVERLOADED', 'too many calls waiting for durability; retry with the same id');
    }
    this.waiting++;
    const wakers = new Map<string, () => void>();
    try {
      const deadline = Date.now() + this.options.timeoutMs;
      const notified = Promise.all(
        missing.map(
          (id) =>
            new Promise<void>((resolve) => {
              wakers.set(id, resolve);
              const set = this.waiters.get(id) ?? new Set();
              set.add(resolve);
              this.waiters.set(id, set);
            }),
        ),
      );
      let done = false;
      void notified.then(() => {
        done = true;
      });
      while (!done) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await Promise.race([notified, sleep(Math.min(left, this.options.pollMs))]);
        if (done) return;
        const found = await this.stored(missing).catch(() => new Set<string>());
        if (found.size > 0) this.onStored(found);
        missing = missing.filter((id) => !found.has(id));
        if (missing.length === 0) return;
      }
      if (!done) {
        throw new LedgerError(
          'DEPENDENCY_UNAVAILABLE',
          `event store has not confirmed the call's events within ${this.options.timeoutMs} ms; retry with the same id`,
        );
      }
    } finally {
      this.waiting--;
      for (const [id, resolve] of wakers) {
        const set = this.waiters.get(id);
        if (!set) continue;
        set.delete(resolve);
        if (set.size === 0) this.waiters.delete(id);
      }
    }
  }
}
