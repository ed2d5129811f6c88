import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { deleteTopic } from './kafka-reader';
import { type RunningLedger, startLedger, uid } from './ledger-app';
import { TestDatabase } from './pg';
import { PrivateRedis } from './redis-server';

/** Minor-unit scales of the currencies the event-store suites use (BTC comes from LEDGER_EXTRA_ASSETS). */
export const SCALES: ReadonlyMap<string, number> = new Map([
  ['USD', 2],
  ['JPY', 0],
  ['BHD', 3],
  ['BTC', 8],
]);

/**
 * A service with a pipeline of its own: a private Redis (its outbox, relay lease and consumer
 * group), a private database (its event store, Kafka watermark and publisher lock) and a topic of
 * its own. Suites that assert on what reached Postgres and Kafka need all three; see TestDatabase.
 */
export interface IsolatedLedger {
  ledger: RunningLedger;
  redis: PrivateRedis;
  /** a plain connection to the private Redis, for the test's own reads (and FLUSHALL) */
  direct: Redis;
  db: TestDatabase;
  topic: string;
  buckets: number;
  close(): Promise<void>;
}

export async function startIsolatedLedger(overrides: Record<string, string> = {}): Promise<IsolatedLedger> {
  const redis = await PrivateRedis.start();
  const db = await TestDatabase.create();
  const topic = `ledger.test.${uid('t')}`;
  const buckets = Number(overrides['LEDGER_BUCKETS'] ?? 16);
  let ledger: RunningLedger;
  try {
    ledger = await startLedger({
      LEDGER_REDIS_URL: redis.url,
      LEDGER_DATABASE_URL: db.url,
      LEDGER_KAFKA_TOPIC: topic,
      LEDGER_EXTRA_ASSETS: 'BTC:8',
      LOG_LEVEL: process.env.LEDGER_TEST_LOGS ? 'info' : 'silent',
      ...overrides,
    });
  } catch (error) {
    await redis.stop();
    await db.drop();
    throw error;
  }
  const direct = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  return {
    ledger,
    redis,
    direct,
    db,
    topic,
    buckets,
    close: async () => {
      await ledger.close().catch(() => undefined);
      direct.disconnect();
      await redis.stop();
      await db.drop().catch(() => undefined);
      await deleteTopic(topic);
    },
  };
}

/** Events still waiting in the private Redis's outbox streams (not yet in Postgres). */
export async function outboxBacklog(iso: IsolatedLedger): Promise<number> {
  const pipeline = iso.direct.pipeline();
  for (let b = 0; b < iso.buckets; b++) pipeline.xlen(`ledger:{b${b}}:outbox`);
  const replies = (await pipeline.exec()) ?? [];
  return replies.reduce((sum, [error, n]) => (error ? sum : sum + Number(n)), 0);
}

/** Polls `probe` until it returns a defined value or the deadline passes (then throws with `what`). */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  withinMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${withinMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** Waits until Postgres holds every outbox event and Kafka acknowledged every stored one. */
export async function drained(iso: IsolatedLedger, withinMs = 60_000): Promise<void> {
  await pollUntil(
    'outbox empty and Kafka caught up',
    async () => ((await outboxBacklog(iso)) === 0 && (await iso.db.kafkaBacklog()) === 0 ? true : undefined),
    withinMs,
  );
}
