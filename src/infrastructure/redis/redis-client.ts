import Redis from 'ioredis';

export interface RedisClientOptions {
  url: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * One ioredis connection with every wait bounded: no offline queue (a call while disconnected
 * fails at once instead of waiting for a reconnect), a per-command timeout, and reconnects
 * forever with a capped backoff so that Redis coming back needs no service restart.
 */
export function createRedisClient(options: RedisClientOptions, name: string): Redis {
  return new Redis(options.url, {
    connectionName: name,
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: false,
    lazyConnect: true,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
  });
}
