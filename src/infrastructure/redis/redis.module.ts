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
import { CurrencyRegistry } from '../../ledger/domain/currency';
import { LedgerStore } from '../../ledger/ports/ledger-store';
import { ExpirySweeper } from './expiry-sweeper';
import { LuaScripts } from './lua-scripts';
import { createRedisClient } from './redis-client';
import { RedisLedgerStore } from './redis-ledger-store';

/** DI token of the ioredis connection used by the hot path. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): Redis => createRedisClient(config.redis, 'ledger'),
    },
    {
      provide: LuaScripts,
      inject: [REDIS_CLIENT],
      useFactory: (redis: Redis): LuaScripts => new LuaScripts(redis),
    },
    {
      provide: LedgerStore,
      inject: [REDIS_CLIENT, LuaScripts, CurrencyRegistry, LEDGER_CONFIG],
      useFactory: (redis: Redis, scripts: LuaScripts, currencies: CurrencyRegistry, config: LedgerConfig) =>
        new RedisLedgerStore(redis, scripts, currencies, config.ledger),
    },
    {
      provide: ExpirySweeper,
      inject: [REDIS_CLIENT, LuaScripts, LEDGER_CONFIG],
      useFactory: (redis: Redis, scripts: LuaScripts, config: LedgerConfig) => {
        const logger = new Logger(ExpirySweeper.name);
        return new ExpirySweeper(
          redis,
          scripts,
          {
            buckets: config.ledger.buckets,
            intervalMs: config.ledger.expirySweepIntervalMs,
            batchMax: config.ledger.expiryBatchMax,
          },
          undefined,
          (error) => logger.warn(`expiry sweep failed: ${error instanceof Error ? error.message : String(error)}`),
        );
      },
    },
  ],
  exports: [REDIS_CLIENT, LuaScripts, LedgerStore, ExpirySweeper],
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
