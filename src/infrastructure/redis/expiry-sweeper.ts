import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { LuaScripts } from './lua-scripts';
import { guardRedis } from './redis-errors';
import { RedisKeys } from './redis-keys';

export interface ExpirySweeperOptions {
  buckets: number;
  intervalMs: number;
  batchMax: number;
}

export interface SweepResult {
  expired: number;
}

/**
 * Releases reservations whose expires_at has passed, with a RESERVATION_EXPIRED event, within one
 * sweep interval (at most 1 s) of expiry. Each bucket's expiry index is a sorted set scored by
 * expires_at; one sweep reads at most batchMax due entries per bucket. The expire script checks
 * again inside Redis, so several service instances may sweep at once.
 */
export class ExpirySweeper {
  private readonly keys: RedisKeys;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** sweeps failed in a row: an outage is reported when it begins and when it ends, not every tick */
  private failures = 0;

  constructor(
    private readonly redis: Redis,
    private readonly scripts: LuaScripts,
    private readonly options: ExpirySweeperOptions,
    private readonly onExpired: (count: number) => void = () => undefined,
    /** every failed sweep, with how many in a row have failed (1 = the first of an outage) */
    private readonly onError: (error: unknown, consecutive: number) => void = () => undefined,
    /** the first sweep that works after `failed` failed ones */
    private readonly onRecovered: (failed: number) => void = () => undefined,
  ) {
    this.keys = new RedisKeys(options.buckets);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // Single flight: a slow sweep is never overlapped by the next one.
      if (this.running) return;
      this.running = this.sweepOnce()
        .then((result) => {
          if (this.failures > 0) this.onRecovered(this.failures);
          this.failures = 0;
          this.onExpired(result.expired);
        })
        .catch((error: unknown) => this.onError(error, ++this.failures))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async sweepOnce(nowMs: number = Date.now()): Promise<SweepResult> {
    const pipeline = this.redis.pipeline();
    for (let bucket = 0; bucket < this.options.buckets; bucket++) {
      pipeline.zrangebyscore(this.keys.expiryIndexOfBucket(bucket), '-inf', nowMs, 'LIMIT', 0, this.options.batchMax);
    }
    const due = (await guardRedis(pipeline.exec())) ?? [];
    let expired = 0;
    for (let bucket = 0; bucket < due.length; bucket++) {
      const [error, members] = due[bucket] ?? [null, []];
      if (error) throw error;
      for (const member of members as string[]) {
        const separator = member.indexOf('|');
        const accountId = member.slice(0, separator);
        const reservationId = member.slice(separator + 1);
        const reply = (await guardRedis(
          this.scripts.run(
            'expire_reservation',
            [
              this.keys.accountInBucket(bucket, accountId),
              this.keys.reservationInBucket(bucket, reservationId),
              this.keys.expiryIndexOfBucket(bucket),
              this.keys.outboxOfBucket(bucket),
            ],
            ['', reservationId, randomUUID(), member],
          ),
        )) as [string, string];
        if (reply[0] === 'OK') expired++;
      }
    }
    return { expired };
  }
}
