import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { type AppendResult, type CommittedBatch, OutboxBatchLostError } from '../postgres/batch-append';
import type { PostgresEventStore } from '../postgres/postgres-event-store';
import type { OutboxEvent } from './outbox-entry';
import { type OutboxBatch, OutboxStreams } from './outbox-streams';
import { EventStoreMismatchError, RelayLeaderLease } from './relay-leader';

export { RELAY_GROUP } from './outbox-streams';

export interface OutboxRelayOptions {
  instanceId: string;
  buckets: number;
  /** bound on entries appended in one Postgres transaction */
  batchMax: number;
  /** how long one wait for new entries blocks on an empty outbox */
  blockMs: number;
  /**
   * Group commit: after a round that stored a partial batch, the next read waits until this long
   * after that round began (0: reads at once). What arrives meanwhile shares one transaction.
   */
  gatherMs: number;
  /** the leader lease runs out this long after its holder stops renewing it */
  leaseMs: number;
  retryBackoffMaxMs: number;
}

export interface RelayObserver {
  /** a batch was committed to Postgres */
  batch(size: number, seconds: number): void;
  /** a round failed (Postgres or Redis down); the batch will be retried */
  failure(error: unknown, attempt: number): void;
  /** entries could not be parsed and went to the dead-letter stream */
  deadLetter(count: number): void;
  /** events whose (account, version) another event already holds */
  conflicts(events: readonly OutboxEvent[]): void;
  /** the relay found no consumer group: first start, or Redis lost its data */
  redisReset(): void;
  /** a batch read before Redis lost its data was dropped instead of stored (never acknowledged) */
  lost(events: readonly OutboxEvent[]): void;
  /** this relay became the leader, or stopped being it */
  leading(leader: boolean): void;
  /**
   * Runs the Postgres append of a batch inside a span linked to the calls that made it, handing
   * `append` the span's W3C traceparent ("" when not traced) for the calls and Kafka to link to.
   */
  traced<T>(events: readonly OutboxEvent[], append: (batchTrace: string) => Promise<T>): Promise<T>;
}

/** What the relay reports as soon as a batch is committed. */
export interface RelayedBatch {
  /** events now in Postgres (inserted by this batch or before), conflicts excluded: their calls are durable */
  stored: readonly OutboxEvent[];
  /** what the batch inserted, with its place in global_seq order, for the Kafka publisher */
  committed: CommittedBatch;
  /** the traceparent of the batch's span ("" when not traced) */
  trace: string;
}

/**
 * The outbox saga's first half: reads every bucket's outbox stream through a consumer group in
 * bounded batches, appends the events to Postgres in one transaction per batch (idempotent: a
 * re-delivered entry inserts nothing; group commit: the batch is whatever arrived while the
 * previous one committed), reports them stored at once, then acknowledges and deletes the
 * entries (so that XLEN is the backlog the scripts bound) in the same round trip as the next
 * read. Postgres down: the batch stays pending and is retried with capped backoff, before
 * anything newer is read. Entries left pending by a crashed relay are taken over by the next
 * leader first.
 *
 * Per-account order: an account's entries are in its bucket's stream in version order, and only
 * the lease holder reads new ones (the read is atomic with the lease, see LEAD_AND_READ); a new
 * leader stores what its predecessor read but did not acknowledge before anything newer. So
 * each account's events are stored (and get their global_seq) in version order, even when a
 * stale leader is still finishing its last batch (it can only store duplicates of it).
 */
export class OutboxRelay {
  private readonly lease: RelayLeaderLease;
  private readonly outbox: OutboxStreams;
  private running = false;
  private loop: Promise<void> | undefined;
  /** ends a gathering wait at stop() */
  private stopping = new AbortController();
  private leader = false;
  /** a batch read but not yet stored: retried before anything newer, to keep version order */
  private unstored: OutboxBatch | undefined;
  /** newly leader: the entries a previous leader left pending are stored before anything new is read */
  private reclaiming = false;

  constructor(
    /** a connection of its own: blocking reads must not hold up the hot path's connection */
    redis: Redis,
    private readonly store: PostgresEventStore,
    private readonly options: OutboxRelayOptions,
    /** called as soon as a batch is committed, before Redis is tidied */
    private readonly onStored: (batch: RelayedBatch) => void,
    private readonly observer: RelayObserver,
  ) {
    this.lease = new RelayLeaderLease(redis, options.instanceId, options.leaseMs);
    this.outbox = new OutboxStreams(redis, this.lease, options, (count) => observer.deadLetter(count));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.loop;
    this.stepDown();
    this.store.closeAppender();
    await this.outbox.acknowledgeNow().catch(() => undefined);
    await this.lease.release().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const storeId = await this.store.storeId();
        if (!this.leader || this.unstored || this.reclaiming) {
          // Taking the lease, or keeping it while no read renews it (a batch retried, a take-over).
          if (!(await this.lease.hold(storeId))) {
            this.stepDown();
            await sleep(500);
            continue;
          }
        }
        if (!this.leader) {
          // Newly leader: first take over what the previous leader read but never acknowledged,
          // so that nothing newer is stored before it.
          this.reclaiming = true;
          await this.outbox.loadLastDelivered();
          this.leader = true;
          this.observer.leading(true);
        }
        const roundStart = Date.now();
        const stored = await this.relayOnce(storeId);
        failures = 0;
        await this.gather(roundStart, stored);
      } catch (error) {
        // Not leader any more after a mismatch: whoever leads next takes over our pending reads.
        if (error instanceof EventStoreMismatchError) this.stepDown();
        // A read that failed on our side (e.g. the command timed out while Redis was busy) may
        // still have run on the server and handed us entries we never saw: they sit pending
        // under our name, and new reads never return them. Take them over before reading on.
        else if (this.leader) this.reclaiming = true;
        failures++;
        this.observer.failure(error, failures);
        await sleep(Math.min(this.options.retryBackoffMaxMs, 50 * 2 ** Math.min(failures, 10)));
      }
    }
  }

  /**
   * Group commit. A round costs the same few round trips (Redis read and check, BEGIN, the
   * INSERT, COMMIT) whatever its size, and a commit is quick, so under steady load rounds ran
   * back to back with one to five events each. After a partial batch the next read waits until
   * gatherMs after this round began: a full batch, an empty round (the next event then goes at
   * once, after the blocking wait) or a round that took longer than that do not wait.
   */
  private async gather(roundStart: number, stored: number): Promise<void> {
    if (stored === 0 || stored >= this.options.batchMax || !this.running) return;
    const left = roundStart + this.options.gatherMs - Date.now();
    if (left <= 0) return;
    await sleep(left, undefined, { signal: this.stopping.signal }).catch(() => undefined);
  }

  /** Entries we read stay pending under our name: the next leader takes them over. */
  private stepDown(): void {
    if (this.leader) this.observer.leading(false);
    this.leader = false;
    this.reclaiming = false;
    this.unstored = undefined;
  }

  /** One read-append-report round; returns the number of events stored. */
  async relayOnce(storeId: string): Promise<number> {
    const batch = this.unstored ?? (await this.next(storeId));
    if (!batch) return 0;
    this.unstored = batch;
    if (batch.events.length > 0) {
      const start = process.hrtime.bigint();
      let trace = '';
      let result: AppendResult;
      try {
        result = await this.observer.traced(batch.events, (batchTrace) => {
          trace = batchTrace;
          return this.store.append(batch.events, () => this.outbox.stillInRedis(batch.ids));
        });
      } catch (error) {
        if (!(error instanceof OutboxBatchLostError)) throw error;
        // Redis lost its data (and these entries) after they were read: nothing to acknowledge.
        this.observer.lost(batch.events);
        this.unstored = undefined;
        return 0;
      }
      this.observer.batch(batch.events.length, Number(process.hrtime.bigint() - start) / 1e9);
      // Durable from here: the waiting calls are answered before Redis is tidied.
      this.onStored({ stored: result.stored, committed: result.committed, trace });
      if (result.conflicts.length > 0) this.observer.conflicts(result.conflicts);
    }
    this.outbox.acknowledgeLater(batch.ids);
    this.unstored = undefined;
    return batch.events.length;
  }

  /** What a predecessor left pending while there is some, then new entries (undefined: none yet). */
  private async next(storeId: string): Promise<OutboxBatch | undefined> {
    if (this.reclaiming) {
      const pending = await this.outbox.reclaim();
      if (pending) return pending;
      this.reclaiming = false;
    }
    const read = await this.outbox.read(storeId);
    if (read === 'follower') {
      this.stepDown();
      return undefined;
    }
    if (read === 'reset') {
      // First start, or Redis lost its data (restart without persistence, FLUSHALL).
      this.observer.redisReset();
      return undefined;
    }
    return read;
  }
}
