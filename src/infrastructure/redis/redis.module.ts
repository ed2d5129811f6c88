import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import type { LedgerConfig } from '../../config/config';
import { LEDGER_CONFIG } from '../../config/config.module';
import { RedisTelemetry } from '../observability/redis-telemetry';
import { ExpirySweeper } from './expiry-sweeper';
import { LuaScripts } from './lua-scripts';
import { createRedisClient } from './redis-client';

/** DI token of the ioredis connection used by the hot path. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Metrics and traces of Redis (ObservabilityModule); absent when the module is used on its own. */
const TELEMETRY = { token: RedisTelemetry, optional: true };

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [LEDGER_CONFIG, TELEMETRY],
      useFactory: (config: LedgerConfig, telemetry?: RedisTelemetry): Redis => {
        const logger = new Logger('Redis');
        const redis = createRedisClient(config.redis, 'ledger', {
          lost: (message) =>
            logger.warn(`redis connection lost: ${message}; calls fail with UNAVAILABLE until it is back`),
          back: (downMs) => logger.log(`redis connection back after ${downMs} ms`),
        });
        telemetry?.observeClient(redis, config.ledger.buckets);
        return redis;
      },
    },
    {
      provide: LuaScripts,
      inject: [REDIS_CLIENT, TELEMETRY],
      useFactory: (redis: Redis, telemetry?: RedisTelemetry): LuaScripts => new LuaScripts(redis, undefined, telemetry),
    },
    {
      provide: ExpirySweeper,
      inject: [REDIS_CLIENT, LuaScripts, LEDGER_CONFIG, TELEMETRY],
      useFactory: (redis: Redis, scripts: LuaScripts, config: LedgerConfig, telemetry?: RedisTelemetry) => {
        const logger = new Logger(ExpirySweeper.name);
        return new ExpirySweeper(
          redis,
          scripts,
          {
            buckets: config.ledger.buckets,
            intervalMs: config.ledger.expirySweepIntervalMs,
            batchMax: config.ledger.expiryBatchMax,
          },
          (count) => telemetry?.expired(count),
          (error, consecutive) => {
            telemetry?.sweepFailed();
            if (consecutive > 1) return; // every failed sweep is counted; the log says when it began
            logger.warn(`expiry sweeps failing: ${error instanceof Error ? error.message : String(error)}`);
          },
          (failed) => logger.log(`expiry sweeps work again after ${failed} failed`),
        );
      },
    },
  ],
  exports: [REDIS_CLIENT, LuaScripts, ExpirySweeper],
})
export class RedisModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RedisModule.name);

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly scripts: LuaScripts,
    private readonly sweeper: ExpirySweeper,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Redis being down at start is not fatal: the service starts not-ready, calls fail fast with
    // UNAVAILABLE, and the client keeps reconnecting.
    try {
      await this.redis.connect();
      await this.scripts.loadAll();
    } catch (error) {
      this.logger.warn(`redis not reachable at start: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.sweeper.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweeper.stop();
    this.redis.disconnect();
  }
}
