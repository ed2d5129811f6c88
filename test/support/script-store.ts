import Redis from 'ioredis';
import { CurrencyRegistry } from '../../src/ledger/domain/currency';
import { LuaScripts } from '../../src/infrastructure/redis/lua-scripts';
import { RedisKeys } from '../../src/infrastructure/redis/redis-keys';
import { RedisLedgerStore, type RedisLedgerStoreOptions } from '../../src/infrastructure/redis/redis-ledger-store';
import { PrivateRedis } from './redis-server';

/** The Lua scripts behind RedisLedgerStore on a private Redis, without the service or an event store. */
export interface ScriptStore {
  redis: Redis;
  store: RedisLedgerStore;
  close(): Promise<void>;
}

/**
 * Starts a private Redis, loads the scripts and builds the store on it. `filtersReady`: the id
 * filters count as rebuilt, so a new id is settled in Redis (without it every id is "maybe seen").
 */
export async function startScriptStore(
  options: Partial<RedisLedgerStoreOptions> = {},
  { filtersReady = false } = {},
): Promise<ScriptStore> {
  const server = await PrivateRedis.start();
  const redis = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
  await redis.connect();
  const scripts = new LuaScripts(redis);
  await scripts.loadAll();
  const settings: RedisLedgerStoreOptions = {
    buckets: 4,
    idempotencyRetentionSeconds: 3600,
    outboxMaxPerBucket: 1_000_000,
    reservationLocationCacheMax: 1000,
    idFilterBits: 1 << 16,
    idFilterHashes: 4,
    ...options,
  };
  if (filtersReady) {
    const keys = new RedisKeys(settings.buckets);
    for (let b = 0; b < settings.buckets; b++) await redis.set(keys.idFilterReadyOfBucket(b), '1');
  }
  return {
    redis,
    store: new RedisLedgerStore(redis, scripts, new CurrencyRegistry(), settings),
    close: async () => {
      redis.disconnect();
      await server.stop();
    },
  };
}
