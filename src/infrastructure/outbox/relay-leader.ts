import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { ConfigError } from '../../config/config-error';

/**
 * Checks that this Redis belongs to our event store (binding it on first use), then renews or
 * takes the lease, in one atomic step. Both keys share the {relay} hash tag (one Cluster slot).
 * Replies 1 (leader), 0 (another instance leads) or the store id the Redis is bound to.
 */
const HOLD = `
local bound = redis.call('GET', KEYS[2])
if not bound then
  redis.call('SET', KEYS[2], ARGV[3])
elseif bound ~= ARGV[3] then
  return bound
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`;

/** A script: its source and the SHA1 EVALSHA names it by. */
interface RelayScript {
  source: string;
  sha: string;
}

function relayScript(source: string): RelayScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Lua that acknowledges and deletes stored entries (XACK + XDEL, so that XLEN is the backlog the
 * scripts bound). From ARGV[firstArg] on, per stream: its index among the streams (the stream is
 * KEYS[keyOffset + index]), the number of ids and the ids. NOGROUP (Redis lost the group, and the
 * entries with it) leaves nothing to acknowledge and is no error.
 */
function ackStored(keyOffset: number, groupArg: number, firstArg: number): string {
  return `
local a = ${firstArg}
while a <= #ARGV do
  local stream, n = KEYS[${keyOffset} + tonumber(ARGV[a])], tonumber(ARGV[a + 1])
  local ids = {}
  for i = 1, n do ids[i] = ARGV[a + 1 + i] end
  local acked = redis.pcall('XACK', stream, ARGV[${groupArg}], unpack(ids))
  if type(acked) == 'table' and acked.err and not string.find(acked.err, 'NOGROUP', 1, true) then return acked end
  redis.call('XDEL', stream, unpack(ids))
  a = a + 2 + n
end`;
}

/**
 * The leader's read, atomic with its lease: checks the store binding and that the lease is this
 * instance's (renewing it), and only then reads new entries of every outbox stream for the
 * consumer group (non-blocking: BLOCK does nothing inside a script). Never takes a free lease:
 * a new leader first takes over its predecessor's pending entries (HOLD, then XAUTOCLAIM).
 * KEYS: lease, store binding, the streams. ARGV: instance id (= consumer), lease ms, store id,
 * COUNT per stream, group, then the acknowledgements of stored entries: per stream, its index
 * among the streams (1-based), the number of ids and the ids. Those are acknowledged and deleted
 * (XACK + XDEL, so that XLEN is the backlog the scripts bound) first, whoever leads: they are
 * stored. Replies {'leader', [stream replies...]}, {'leader'} (nothing new), {'follower'},
 * {'nogroup'} or {'mismatch', bound store id}. Streams are read 1000 at a time (Lua's unpack has
 * a bound). The keys span hash slots: on Redis Cluster the relay would read per node, with a
 * lease per node (a later issue).
 */
const LEAD_AND_READ = relayScript(`${ackStored(2, 5, 6)}
local bound = redis.call('GET', KEYS[2])
if not bound then
  redis.call('SET', KEYS[2], ARGV[3])
elseif bound ~= ARGV[3] then
  return {'mismatch', bound}
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'follower'} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local out = {}
local first = 3
while first <= #KEYS do
  local last = math.min(#KEYS, first + 999)
  local args = {'XREADGROUP', 'GROUP', ARGV[5], ARGV[1], 'COUNT', ARGV[4], 'STREAMS'}
  for i = first, last do args[#args + 1] = KEYS[i] end
  for i = first, last do args[#args + 1] = '>' end
  local reply = redis.pcall(unpack(args))
  if type(reply) == 'table' and reply.err then
    if string.find(reply.err, 'NOGROUP', 1, true) then return {'nogroup'} end
    return reply
  end
  if reply then
    for _, stream in ipairs(reply) do out[#out + 1] = stream end
  end
  first = last + 1
end
if #out == 0 then return {'leader'} end
return {'leader', out}`);

/** The acknowledgements alone (ackStored): KEYS the streams, ARGV[1] the group. */
const ACKNOWLEDGE = relayScript(`${ackStored(0, 1, 2)}
return 1`);

/** KEYS: streams; ARGV: an entry id per stream. Replies 1 while every one is still there, else 0. */
const STILL_HOLDS = relayScript(`
for i = 1, #KEYS do
  if #redis.call('XRANGE', KEYS[i], ARGV[i], ARGV[i]) == 0 then return 0 end
end
return 1`);

/** EVALSHA, or EVAL of the source when Redis answers NOSCRIPT (restarted or flushed its scripts). */
async function runScript(
  redis: Redis,
  script: RelayScript,
  keys: number,
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return await redis.eval(script.source, keys, ...args);
  }
}

/** LEAD_AND_READ's acknowledgement arguments: per stream with ids, its index, their number, the ids. */
function ackArgs(streams: readonly string[], acks: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  streams.forEach((stream, i) => {
    const ids = acks.get(stream);
    if (ids && ids.length > 0) out.push(String(i + 1), String(ids.length), ...ids);
  });
  return out;
}

export type StreamReply = [stream: string, entries: [id: string, fields: string[] | null][]][];

export type LeaderRead = { role: 'leader'; reply: StreamReply } | { role: 'follower' } | { role: 'nogroup' };

/** This process's event store is not the one the Redis holds the state of. */
export class EventStoreMismatchError extends ConfigError {
  constructor(ours: string, bound: string) {
    super(
      'LEDGER_DATABASE_URL',
      `is event store ${ours}, but the Redis of LEDGER_REDIS_URL holds the state of event store ${bound}: ` +
        'point both at the same deployment (if this database replaced that one on purpose, empty that Redis first)',
    );
    this.name = 'EventStoreMismatchError';
  }
}

/**
 * One relay per Redis deployment appends to Postgres, so each account's events are stored in
 * version order by a single writer. Leadership is a lease in Redis (SET NX PX), renewed while
 * the leader lives; if it dies, another instance takes over once the lease runs out. The lease
 * is only taken by a relay whose event store is the one the Redis is bound to (IDENTITY_KEY), so
 * a service pointed at another database never stores this Redis's events there.
 */
export class RelayLeaderLease {
  static readonly KEY = 'ledger:{relay}:leader';
  static readonly IDENTITY_KEY = 'ledger:{relay}:store-id';

  constructor(
    private readonly redis: Redis,
    private readonly instanceId: string,
    private readonly leaseMs: number,
  ) {}

  /**
   * True while this instance holds the lease (acquiring or renewing it); throws
   * EventStoreMismatchError when the Redis belongs to another event store than `storeId`.
   */
  async hold(storeId: string): Promise<boolean> {
    const reply = (await this.redis.eval(
      HOLD,
      2,
      RelayLeaderLease.KEY,
      RelayLeaderLease.IDENTITY_KEY,
      this.instanceId,
      this.leaseMs,
      storeId,
    )) as number | string;
    if (typeof reply === 'string') throw new EventStoreMismatchError(storeId, reply);
    return reply === 1;
  }

  /**
   * The leader's read (LEAD_AND_READ), with the acknowledgements of the stored entries `acks`
   * (stream -> ids) in the same script: one command, one round trip. NOSCRIPT (Redis restarted or
   * flushed its scripts) runs the script's source instead. Throws EventStoreMismatchError when
   * the Redis is bound to another store; the acknowledgements are done whenever it replied.
   */
  async read(
    storeId: string,
    streams: readonly string[],
    count: number,
    group: string,
    acks: ReadonlyMap<string, readonly string[]>,
  ): Promise<LeaderRead> {
    const args = [...this.readArgs(storeId, streams, count, group), ...ackArgs(streams, acks)];
    const result = await runScript(this.redis, LEAD_AND_READ, 2 + streams.length, args);
    const [role, value] = result as [string, unknown];
    if (role === 'mismatch') throw new EventStoreMismatchError(storeId, String(value));
    if (role === 'follower' || role === 'nogroup') return { role };
    if (role !== 'leader') throw new Error(`unexpected relay read reply ${JSON.stringify(result)}`);
    return { role, reply: (value ?? []) as StreamReply };
  }

  private readArgs(storeId: string, streams: readonly string[], count: number, group: string): (string | number)[] {
    return [
      RelayLeaderLease.KEY,
      RelayLeaderLease.IDENTITY_KEY,
      ...streams,
      this.instanceId,
      this.leaseMs,
      storeId,
      count,
      group,
    ];
  }

  /**
   * Whether Redis still holds each stream's entry `firstIds` names (one script, one round trip):
   * false once any is gone, as after Redis lost its data.
   */
  async stillHolds(firstIds: ReadonlyMap<string, string>): Promise<boolean> {
    const streams = [...firstIds.keys()];
    if (streams.length === 0) return true;
    return (await runScript(this.redis, STILL_HOLDS, streams.length, [...streams, ...firstIds.values()])) === 1;
  }

  /** Acknowledges and deletes the stored entries `acks` (stream -> ids) without reading (ACKNOWLEDGE). */
  async acknowledge(group: string, acks: ReadonlyMap<string, readonly string[]>): Promise<void> {
    const streams = [...acks.keys()];
    if (streams.length === 0) return;
    await runScript(this.redis, ACKNOWLEDGE, streams.length, [...streams, group, ...ackArgs(streams, acks)]);
  }

  async release(): Promise<void> {
    await this.redis.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
      1,
      RelayLeaderLease.KEY,
      this.instanceId,
    );
  }
}

/**
 * The start-up check: fails with EventStoreMismatchError when the Redis is already bound to
 * another event store. Binding is left to the relay (HOLD), so a service that only reads binds
 * nothing.
 */
export async function checkStoreBinding(redis: Redis, storeId: string): Promise<void> {
  const bound = await redis.get(RelayLeaderLease.IDENTITY_KEY);
  if (bound !== null && bound !== storeId) throw new EventStoreMismatchError(storeId, bound);
}
