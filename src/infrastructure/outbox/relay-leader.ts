import type Redis from 'ioredis';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * One relay per Redis deployment appends to Postgres, so each account's events are stored in
 * version order by a single writer. Leadership is a lease in Redis (SET NX PX), renewed while
 * the leader lives; if it dies, another instance takes over once the lease runs out.
 */
export class RelayLeaderLease {
  static readonly KEY = 'ledger:relay:leader';

  constructor(
    private readonly redis: Redis,
    private readonly instanceId: string,
    private readonly leaseMs: number,
  ) {}

  /** True while this instance holds the lease (acquiring or renewing it). */
  async hold(): Promise<boolean> {
    const renewed = (await this.redis.eval(RENEW, 1, RelayLeaderLease.KEY, this.instanceId, this.leaseMs)) as number;
    if (renewed === 1) return true;
    const acquired = await this.redis.set(RelayLeaderLease.KEY, this.instanceId, 'PX', this.leaseMs, 'NX');
    return acquired === 'OK';
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
