import Redis from 'ioredis';

export interface RedisClientOptions {
  url: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Where a connection reports that it was lost and that it is back (once each per outage). */
export interface ConnectionLog {
  lost(message: string): void;
  back(downMs: number): void;
}

/**
 * One ioredis connection with every wait bounded: no offline queue (a call while disconnected
 * fails at once instead of waiting for a reconnect), a per-command timeout, and reconnects
 * forever with a capped backoff so that Redis coming back needs no service restart.
 *
 * ioredis emits 'error' for every failed reconnect attempt (about ten per outage) and, when no
 * one listens, prints each one itself ("[ioredis] Unhandled error event", not a JSON line). Every
 * connection made here therefore has a listener: with `log`, the outage is reported once when it
 * begins and once when it ends; without, the errors are dropped (each failed command rejects
 * with its own error, and the connection state is in the metrics).
 */
export function createRedisClient(options: RedisClientOptions, name: string, log?: ConnectionLog): Redis {
  const redis = new Redis(options.url, {
    connectionName: name,
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: false,
    lazyConnect: true,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
  });
  let lostAt: number | undefined;
  redis.on('error', (error: Error) => {
    if (lostAt !== undefined) return;
    lostAt = Date.now();
    log?.lost(error.message);
  });
  redis.on('ready', () => {
    if (lostAt === undefined) return;
    log?.back(Date.now() - lostAt);
    lostAt = undefined;
  });
  return redis;
}
