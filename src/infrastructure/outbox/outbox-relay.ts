import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { OutboxBatchLostError, type PostgresEventStore } from '../postgres/postgres-event-store';
import { RedisKeys } from '../redis/redis-keys';
import { type OutboxEvent, parseOutboxEntry } from './outbox-entry';
import { EventStoreMismatchError, RelayLeaderLease } from './relay-leader';

export const RELAY_GROUP = 'relay';

export interface OutboxRelayOptions {
  instanceId: string;
  buckets: number;
  /** bound on entries appended in one Postgres transaction */
  batchMax: number;
  blockMs: number;
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
  /** runs the Postgres append of a batch inside a span linked to the calls that made it */
  traced<T>(events: readonly OutboxEvent[], append: () => Promise<T>): Promise<T>;
}

type StreamReply = [stream: string, entries: [id: string, fields: string[]][]][];

interface Batch {
  events: OutboxEvent[];
  /** stream -> entry ids to acknowledge once stored */
  ids: Map<string, string[]>;
}

/**
 * The outbox saga's first half: reads every bucket's outbox stream through a consumer group in
 * bounded batches, appends the events to Postgres in one transaction per batch (idempotent: a
 * re-delivered entry inserts nothing), then acknowledges and deletes the entries (so that XLEN is
 * the backlog the scripts bound). Postgres down: the batch stays pending and is retried with
 * capped backoff, before anything newer is read. Entries left pending by a crashed relay are
 * taken over by the next leader first.
 */
export class OutboxRelay {
  private readonly keys: RedisKeys;
  private readonly streams: string[];
  private readonly lease: RelayLeaderLease;
  private running = false;
  private loop: Promise<void> | undefined;
  private leader = false;
  /** a batch read but not yet stored: retried before anything newer, to keep version order */
  private unstored: Batch | undefined;

  constructor(
    /** a connection of its own: XREADGROUP BLOCK must not hold up the hot path's connection */
    private readonly redis: Redis,
    private readonly store: PostgresEventStore,
    private readonly options: OutboxRelayOptions,
    /** events now in Postgres (inserted by this batch or before), conflicts excluded */
    private readonly onStored: (events: readonly OutboxEvent[]) => void,
    private readonly observer: RelayObserver,
  ) {
    this.keys = new RedisKeys(options.buckets);
    this.streams = Array.from({ length: options.buckets }, (_, b) => this.keys.outboxOfBucket(b));
    this.lease = new RelayLeaderLease(redis, options.instanceId, options.leaseMs);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.lease.release().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (!(await this.lease.hold(await this.store.storeId()))) {
          this.leader = false;
          await sleep(500);
          continue;
        }
        if (!this.leader) {
          // Newly leader: first take over what the previous leader read but never acknowledged,
          // so that nothing newer is stored before it.
          this.unstored = await this.reclaimAll();
          this.leader = true;
        }
        await this.relayOnce();
        failures = 0;
      } catch (error) {
        // Not leader any more after a mismatch: whoever leads next takes over our pending reads.
        if (error instanceof EventStoreMismatchError) this.leader = false;
        failures++;
        this.observer.failure(error, failures);
        await sleep(Math.min(this.options.retryBackoffMaxMs, 50 * 2 ** Math.min(failures, 10)));
      }
    }
  }

  /** One read-append-acknowledge round; returns the number of events stored. */
  async relayOnce(): Promise<number> {
    const batch = this.unstored ?? (await this.read());
    this.unstored = batch;
    if (batch.events.length > 0) {
      const start = process.hrtime.bigint();
      let result;
      try {
        result = await this.observer.traced(batch.events, () =>
          this.store.append(batch.events, () => this.stillInRedis(batch.ids)),
        );
      } catch (error) {
        if (!(error instanceof OutboxBatchLostError)) throw error;
        // Redis lost its data (and these entries) after they were read: nothing to acknowledge.
        this.observer.lost(batch.events);
        this.unstored = undefined;
        return 0;
      }
      this.observer.batch(batch.events.length, Number(process.hrtime.bigint() - start) / 1e9);
      if (result.conflicts.length > 0) this.observer.conflicts(result.conflicts);
      await this.acknowledge(batch.ids);
      const conflicted = new Set(result.conflicts.map((e) => e.eventId));
      this.onStored(batch.events.filter((e) => !conflicted.has(e.eventId)));
    } else if (batch.ids.size > 0) {
      await this.acknowledge(batch.ids);
    }
    this.unstored = undefined;
    return batch.events.length;
  }

  /** Redis still holds the batch's entries (their first one per stream; a data loss takes all). */
  private async stillInRedis(ids: Map<string, string[]>): Promise<boolean> {
    const pipeline = this.redis.pipeline();
    const checked: string[] = [];
    for (const [stream, streamIds] of ids) {
      const first = streamIds[0];
      if (first === undefined) continue;
      pipeline.xrange(stream, first, first);
      checked.push(stream);
    }
    if (checked.length === 0) return true;
    for (const [error, entries] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      if (!Array.isArray(entries) || entries.length === 0) return false;
    }
    return true;
  }

  private async read(): Promise<Batch> {
    const perStream = Math.max(1, Math.ceil(this.options.batchMax / this.streams.length));
    let reply: StreamReply | null;
    try {
      reply = (await this.redis.xreadgroup(
        'GROUP',
        RELAY_GROUP,
        this.options.instanceId,
        'COUNT',
        perStream,
        'BLOCK',
        this.options.blockMs,
        'STREAMS',
        ...this.streams,
        ...this.streams.map(() => '>'),
      )) as StreamReply | null;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOGROUP')) {
        // First start, or Redis lost its data (restart without persistence, FLUSHALL).
        await this.createGroups();
        this.observer.redisReset();
        return { events: [], ids: new Map() };
      }
      throw error;
    }
    return this.toBatch(reply ?? []);
  }

  /**
   * Takes over every entry read by a previous relay (crashed, or lost its lease) but never
   * acknowledged, up to batchMax per stream; more, if any, come in the following rounds through
   * the same path since they stay pending.
   */
  private async reclaimAll(): Promise<Batch | undefined> {
    const reply: StreamReply = [];
    for (const stream of this.streams) {
      try {
        const [, entries] = (await this.redis.xautoclaim(
          stream,
          RELAY_GROUP,
          this.options.instanceId,
          0,
          '0-0',
          'COUNT',
          this.options.batchMax,
        )) as [string, [string, string[]][]];
        if (entries.length > 0) reply.push([stream, entries]);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOGROUP'))) throw error;
      }
    }
    return reply.length > 0 ? this.toBatch(reply) : undefined;
  }

  private async toBatch(reply: StreamReply): Promise<Batch> {
    const events: OutboxEvent[] = [];
    const ids = new Map<string, string[]>();
    const dead: [string, string, string[]][] = [];
    for (const [stream, entries] of reply) {
      const streamIds: string[] = [];
      for (const [id, fields] of entries) {
        streamIds.push(id);
        // XAUTOCLAIM returns deleted entries with null fields: nothing left to store.
        if (!fields) continue;
        try {
          events.push(parseOutboxEntry(fields));
        } catch {
          dead.push([stream, id, fields]);
        }
      }
      ids.set(stream, streamIds);
    }
    if (dead.length > 0) {
      // A malformed entry must not block its stream forever: park it for an operator.
      const pipeline = this.redis.pipeline();
      for (const [stream, id, fields] of dead) pipeline.xadd(`${stream}:dead`, '*', 'entry', id, ...fields);
      for (const [error] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
      }
      this.observer.deadLetter(dead.length);
    }
    return { events, ids };
  }

  private async acknowledge(ids: Map<string, string[]>): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [stream, streamIds] of ids) {
      if (streamIds.length === 0) continue;
      pipeline.xack(stream, RELAY_GROUP, ...streamIds);
      pipeline.xdel(stream, ...streamIds);
    }
    for (const [error] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
    }
  }

  private async createGroups(): Promise<void> {
    for (const stream of this.streams) {
      try {
        await this.redis.xgroup('CREATE', stream, RELAY_GROUP, '0', 'MKSTREAM');
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
      }
    }
  }
}
