import { LedgerError } from '../../ledger/domain/errors';
import { BoundedCache } from '../redis/bounded-cache';

export interface DurabilityWaiterOptions {
  timeoutMs: number;
  /**
   * Event ids waited for this long are looked up in Postgres, all waiters' in one query, and so
   * on every pollMs while they wait (a lost report costs at most about this much)
   */
  pollMs: number;
  /** bound on event ids one poll asks Postgres about (the longest-waiting first) */
  pollBatchMax: number;
  /** bound on calls waiting at once; past it new calls get OVERLOADED */
  waitersMax: number;
  /** bound on recently stored event ids remembered (a report may arrive before its call waits) */
  recentMax: number;
}

/** How a durable wait ended, for its span. */
export interface DurableWait {
  /**
   * The W3C traceparents of the relay batch spans that committed the call's events, as far as
   * they are known ("" batches, untraced or found by polling, are left out).
   */
  batches: string[];
  /** 'stored': every event was reported before the call waited; 'notified': by the relay's report; 'polled': found by asking Postgres */
  via: 'stored' | 'notified' | 'polled';
}

/** One waiting call's hold on one event id. */
type Waker = (batch: string, polled: boolean) => void;

interface Waiting {
  /** when the first call began waiting for it, or when a poll last missed it (ms) */
  since: number;
  wakers: Set<Waker>;
}

/**
 * Durable acknowledgements: a mutating call is answered only once Postgres holds the very events
 * it appended (by event id: after Redis lost data, a version number may be reused by another
 * event, so a version proves nothing). The relay reports stored ids as soon as it commits (in
 * this process directly, from other instances over Redis pub/sub), with the traceparent of its
 * batch span. Ids waited for longer than pollMs are also looked up in Postgres, in one query for
 * every waiter, so a lost report delays an answer but never hangs it, and a slow relay does not
 * multiply the queries by the number of calls waiting. Past the timeout the call fails with
 * UNAVAILABLE: its change is in Redis and will be stored, or was lost with Redis and is not
 * acknowledged; either way a retry with the same id is safe.
 */
export class DurabilityWaiter {
  /** recently stored event id -> the traceparent of the batch that stored it ("" if unknown) */
  private readonly recent: BoundedCache<string, string>;
  /** event ids waited for, in the order the waits began */
  private readonly waiting = new Map<string, Waiting>();
  /** when each waiting call began to wait (ms), in that order: the first is the oldest; its size bounds the waiters */
  private readonly waitStarts = new Map<number, number>();
  private nextWait = 0;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: DurabilityWaiterOptions,
    /** the subset of `eventIds` Postgres holds */
    private readonly stored: (eventIds: readonly string[]) => Promise<ReadonlySet<string>>,
  ) {
    this.recent = new BoundedCache(options.recentMax);
  }

  /** The relay stored these events (in the batch whose span is `batch`): wake the calls waiting for them. */
  onStored(eventIds: Iterable<string>, batch = ''): void {
    this.settle(eventIds, batch, false);
  }

  /**
   * Resolves once Postgres holds all of `eventIds`; fails after the configured timeout, or at
   * `untilMs` (epoch ms: the caller's deadline) if that comes first, since nobody waits then.
   */
  async waitFor(eventIds: readonly string[], untilMs = Number.POSITIVE_INFINITY): Promise<DurableWait> {
    const batches = new Set<string>();
    const missing = eventIds.filter((id) => {
      const batch = this.recent.get(id);
      if (batch === undefined) return true;
      batches.add(batch);
      return false;
    });
    if (missing.length === 0) return ended(batches, 'stored');
    if (this.waitStarts.size >= this.options.waitersMax) {
      throw new LedgerError('OVERLOADED', 'too many calls waiting for durability; retry with the same id');
    }
    const waitId = this.nextWait++;
    this.waitStarts.set(waitId, Date.now());
    const mine = new Map<string, Waker>();
    let polled = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const now = Date.now();
      const all = Promise.all(
        missing.map(
          (id) =>
            new Promise<void>((resolve) => {
              const wake: Waker = (batch, byPoll) => {
                batches.add(batch);
                polled ||= byPoll;
                resolve();
              };
              mine.set(id, wake);
              const entry = this.waiting.get(id);
              if (entry) entry.wakers.add(wake);
              else this.waiting.set(id, { since: now, wakers: new Set([wake]) });
            }),
        ),
      );
      this.schedulePoll();
      const callerLeftInMs = untilMs - now;
      const timedOut = new Promise<'timeout' | 'caller-gone'>((resolve) => {
        if (callerLeftInMs < this.options.timeoutMs) {
          timer = setTimeout(() => resolve('caller-gone'), Math.max(callerLeftInMs, 0));
        } else timer = setTimeout(() => resolve('timeout'), this.options.timeoutMs);
      });
      const outcome = await Promise.race([all, timedOut]);
      if (outcome === 'caller-gone') {
        // Counted as the caller saw it (DEADLINE_EXCEEDED); the change is applied and will be stored.
        throw new LedgerError(
          'DEPENDENCY_UNAVAILABLE',
          "the caller's deadline passed before the event store confirmed the call's events; retry with the same id",
        );
      }
      if (outcome === 'timeout') {
        throw new LedgerError(
          'DEPENDENCY_UNAVAILABLE',
          `event store has not confirmed the call's events within ${this.options.timeoutMs} ms; retry with the same id`,
        );
      }
      return ended(batches, polled ? 'polled' : 'notified');
    } finally {
      clearTimeout(timer);
      this.waitStarts.delete(waitId);
      for (const [id, wake] of mine) {
        const entry = this.waiting.get(id);
        if (!entry) continue;
        entry.wakers.delete(wake);
        if (entry.wakers.size === 0) this.waiting.delete(id);
      }
    }
  }

  /**
   * How long the longest-waiting call has waited so far (0: none waits): how far behind the
   * event store's confirmations are, since the relay stores in the order calls applied.
   */
  oldestWaitMs(now = Date.now()): number {
    for (const started of this.waitStarts.values()) return Math.max(0, now - started);
    return 0;
  }

  private settle(eventIds: Iterable<string>, batch: string, polled: boolean): void {
    for (const id of eventIds) {
      this.recent.set(id, batch);
      const entry = this.waiting.get(id);
      if (!entry) continue;
      this.waiting.delete(id);
      for (const wake of entry.wakers) wake(batch, polled);
    }
  }

  private schedulePoll(): void {
    if (this.pollTimer || this.waiting.size === 0) return;
    this.pollTimer = setTimeout(() => void this.poll(), this.options.pollMs);
    this.pollTimer.unref();
  }

  /** One query for the ids waited for at least pollMs (the longest-waiting first, bounded). */
  private async poll(): Promise<void> {
    try {
      const dueBy = Date.now() - this.options.pollMs;
      const due: string[] = [];
      for (const [id, entry] of this.waiting) {
        if (entry.since > dueBy || due.length >= this.options.pollBatchMax) break;
        due.push(id);
      }
      if (due.length > 0) {
        const found = await this.stored(due).catch(() => new Set<string>());
        this.settle(found, '', true);
        // Not stored yet: to the back of the line, so that every waiting id gets its turn.
        const now = Date.now();
        for (const id of due) {
          const entry = this.waiting.get(id);
          if (!entry) continue;
          this.waiting.delete(id);
          this.waiting.set(id, { since: now, wakers: entry.wakers });
        }
      }
    } finally {
      this.pollTimer = undefined;
      this.schedulePoll();
    }
  }
}

function ended(batches: ReadonlySet<string>, via: DurableWait['via']): DurableWait {
  return { batches: [...batches].filter((b) => b !== ''), via };
}
