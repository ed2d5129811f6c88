import type Redis from 'ioredis';
import { ConfigError } from '../../config/config';

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
