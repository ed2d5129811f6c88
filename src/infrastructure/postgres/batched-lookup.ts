export interface BatchedLookupLimits {
  /** most keys in one query */
  maxBatch: number;
  /** most queries running at once; lookups arriving meanwhile wait for the next batch */
  maxInFlight: number;
  /** most lookups waiting or running; past it a lookup fails at once with `overloaded()` */
  maxPending: number;
}

interface Waiter<R> {
  resolve(value: R | undefined): void;
  reject(error: unknown): void;
}

/**
 * Coalesces concurrent lookups by key into one query per batch. Every mutating call looks its
 * idempotency key up in Postgres; one `= ANY($1)` statement for the keys of all calls that
 * arrived in the same turn of the event loop costs Postgres and this process a round trip per
 * batch instead of one per call. The same key looked up twice at once shares one answer.
 */
export class BatchedLookup<R> {
  private queued = new Map<string, Waiter<R>[]>();
  private pending = 0;
  private inFlight = 0;
  private flushScheduled = false;

  constructor(
    private readonly fetch: (keys: string[]) => Promise<Map<string, R>>,
    private readonly limits: BatchedLookupLimits,
    private readonly overloaded: () => Error,
  ) {}

  /** The value stored under `key`, or undefined when there is none. */
  get(key: string): Promise<R | undefined> {
    if (this.pending >= this.limits.maxPending) return Promise.reject(this.overloaded());
    return new Promise<R | undefined>((resolve, reject) => {
      const waiters = this.queued.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.queued.set(key, [{ resolve, reject }]);
      this.pending++;
      this.scheduleFlush();
    });
  }

  /** Lookups waiting for or in a query (for tests and metrics). */
  get size(): number {
    return this.pending;
  }

  // setImmediate, not a microtask: calls decoded from one socket read all run before it fires,
  // so their keys share a batch; the wait it adds is one event-loop turn.
  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight >= this.limits.maxInFlight) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.limits.maxInFlight && this.queued.size > 0) {
      const batch = new Map<string, Waiter<R>[]>();
      for (const [key, waiters] of this.queued) {
        if (batch.size >= this.limits.maxBatch) break;
        batch.set(key, waiters);
        this.queued.delete(key);
      }
      this.inFlight++;
      void this.run(batch);
    }
  }

  private async run(batch: Map<string, Waiter<R>[]>): Promise<void> {
    let settled = 0;
    try {
      const found = await this.fetch([...batch.keys()]);
      for (const [key, waiters] of batch) {
        for (const waiter of waiters) waiter.resolve(found.get(key));
        settled += waiters.length;
      }
    } catch (error) {
      for (const waiters of batch.values()) {
        for (const waiter of waiters) waiter.reject(error);
        settled += waiters.length;
      }
    } finally {
      this.pending -= settled;
      this.inFlight--;
      if (this.queued.size > 0) this.scheduleFlush();
    }
  }
}
