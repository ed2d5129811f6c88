import type Redis from 'ioredis';
import { RedisKeys } from '../redis/redis-keys';
import { type OutboxEvent, parseOutboxEntry } from './outbox-entry';
import type { RelayLeaderLease, StreamReply } from './relay-leader';

export const RELAY_GROUP = 'relay';

export interface OutboxBatch {
  events: OutboxEvent[];
  /** stream -> entry ids to acknowledge once stored */
  ids: Map<string, string[]>;
}

export interface OutboxStreamsOptions {
  instanceId: string;
  buckets: number;
  /** bound on entries read in one batch (over all streams) */
  batchMax: number;
  /** how long one wait for new entries blocks on an empty outbox */
  blockMs: number;
}

/**
 * The relay's side of Redis: every bucket's outbox stream, read through the consumer group
 * RELAY_GROUP under the leader lease (LEAD_AND_READ), a predecessor's pending entries taken over
 * (XAUTOCLAIM), stored entries acknowledged and deleted (XACK + XDEL, so that XLEN is the backlog
 * the scripts bound) inside the next read's script, malformed ones parked in a
 * dead-letter stream.
 */
export class OutboxStreams {
  private readonly streams: string[];
  private readonly perStream: number;
  /** entries stored but not yet acknowledged in Redis (sent with the next read) */
  private readonly unacked = new Map<string, string[]>();
  private unackedCount = 0;
  /** per stream, the newest entry id seen: an idle relay waits for entries after it */
  private readonly lastSeen = new Map<string, string>();

  constructor(
    /** a connection of its own: blocking reads must not hold up the hot path's connection */
    private readonly redis: Redis,
    private readonly lease: RelayLeaderLease,
    private readonly options: OutboxStreamsOptions,
    private readonly onDeadLetter: (count: number) => void,
  ) {
    const keys = new RedisKeys(options.buckets);
    this.streams = Array.from({ length: options.buckets }, (_, b) => keys.outboxOfBucket(b));
    this.perStream = Math.max(1, Math.ceil(options.batchMax / this.streams.length));
  }

  /**
   * The acknowledgements of the stored batches and the leader's read, in one round trip. Nothing
   * new: waits (bounded by blockMs) until a stream has an entry after the newest one seen, and
   * returns undefined, so that the next round reads it. 'follower': the lease is another's (or
   * nobody's) now. 'reset': there was no consumer group (first start, or Redis lost its data);
   * the groups are made again.
   */
  async read(storeId: string): Promise<OutboxBatch | 'follower' | 'reset' | undefined> {
    if (this.unackedCount > this.options.batchMax * 4) await this.acknowledgeNow();
    // The acknowledgements ride in the read script (one command: ioredis and Redis pay per command).
    const sent = this.unackedCounts();
    const read = await this.lease.read(storeId, this.streams, this.perStream, RELAY_GROUP, this.unacked);
    this.forgetAcknowledged(sent);
    if (read.role === 'follower') return 'follower';
    if (read.role === 'nogroup') {
      await this.createGroups();
      return 'reset';
    }
    if (read.reply.length === 0) {
      await this.waitForEntries();
      return undefined;
    }
    this.noteSeen(read.reply);
    return this.toBatch(read.reply);
  }

  /** XREAD (no group: claims nothing) after the newest entry seen per stream, until one arrives or blockMs. */
  private async waitForEntries(): Promise<void> {
    const reply = (await this.redis.xread(
      'COUNT',
      1,
      'BLOCK',
      this.options.blockMs,
      'STREAMS',
      ...this.streams,
      ...this.streams.map((s) => this.lastSeen.get(s) ?? '0-0'),
    )) as StreamReply | null;
    // Entries another consumer was handed (a predecessor's, not yet reclaimed) must not wake us again.
    if (reply) this.noteSeen(reply);
  }

  private noteSeen(reply: StreamReply): void {
    for (const [stream, entries] of reply) {
      const last = entries.at(-1);
      if (last) this.lastSeen.set(stream, last[0]);
    }
  }

  /** Where the group's delivery stands on each stream: new entries come after it. */
  async loadLastDelivered(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const stream of this.streams) pipeline.xinfo('GROUPS', stream);
    const replies = (await pipeline.exec()) ?? [];
    this.lastSeen.clear();
    replies.forEach(([error, groups], i) => {
      // No stream or no group yet: the first read creates them (NOGROUP) and starts from 0-0.
      if (error || !Array.isArray(groups)) return;
      for (const group of groups as unknown[][]) {
        const fields = new Map<string, unknown>();
        for (let f = 0; f + 1 < group.length; f += 2) fields.set(String(group[f]), group[f + 1]);
        if (fields.get('name') === RELAY_GROUP)
          this.lastSeen.set(this.streams[i] as string, String(fields.get('last-delivered-id')));
      }
    });
  }

  /** Redis still holds the batch's entries (their first one per stream; a data loss takes all). */
  async stillInRedis(ids: ReadonlyMap<string, string[]>): Promise<boolean> {
    const firstIds = new Map<string, string>();
    for (const [stream, streamIds] of ids) {
      const first = streamIds[0];
      if (first !== undefined) firstIds.set(stream, first);
    }
    return this.lease.stillHolds(firstIds);
  }

  /**
   * The next batch of entries a previous relay (crashed, or lost its lease) read but never
   * acknowledged, oldest first, at most batchMax / buckets per stream; undefined once none is
   * left. Our own stored entries are acknowledged first, or they would come back here.
   */
  async reclaim(): Promise<OutboxBatch | undefined> {
    await this.acknowledgeNow();
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
          this.perStream,
        )) as [string, [string, string[] | null][]];
        if (entries.length > 0) reply.push([stream, entries]);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOGROUP'))) throw error;
      }
    }
    return reply.length > 0 ? this.toBatch(reply) : undefined;
  }

  private async toBatch(reply: StreamReply): Promise<OutboxBatch> {
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
      this.onDeadLetter(dead.length);
    }
    return { events, ids };
  }

  /** The batch is stored: its entries are acknowledged with the next read. */
  acknowledgeLater(ids: ReadonlyMap<string, string[]>): void {
    for (const [stream, streamIds] of ids) {
      if (streamIds.length === 0) continue;
      const list = this.unacked.get(stream);
      if (list) list.push(...streamIds);
      else this.unacked.set(stream, [...streamIds]);
      this.unackedCount += streamIds.length;
    }
  }

  /** How many entries of each stream wait for their acknowledgement (taken before sending them). */
  private unackedCounts(): (readonly [string, number])[] {
    return [...this.unacked].map(([stream, ids]) => [stream, ids.length] as const);
  }

  /** Forgets entries whose acknowledgement Redis took: the first `count` of each stream's list. */
  private forgetAcknowledged(sent: readonly (readonly [string, number])[]): void {
    for (const [stream, count] of sent) {
      const list = this.unacked.get(stream);
      if (!list) continue;
      list.splice(0, count);
      this.unackedCount -= count;
      if (list.length === 0) this.unacked.delete(stream);
    }
  }

  /** Acknowledges the stored entries now, without a read (a failure throws; they are sent again). */
  async acknowledgeNow(): Promise<void> {
    if (this.unacked.size === 0) return;
    const sent = this.unackedCounts();
    await this.lease.acknowledge(RELAY_GROUP, this.unacked);
    this.forgetAcknowledged(sent);
  }

  private async createGroups(): Promise<void> {
    this.unacked.clear();
    this.unackedCount = 0;
    this.lastSeen.clear();
    for (const stream of this.streams) {
      try {
        await this.redis.xgroup('CREATE', stream, RELAY_GROUP, '0', 'MKSTREAM');
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
      }
    }
  }
}
