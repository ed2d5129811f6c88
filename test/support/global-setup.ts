import Redis from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { RelayLeaderLease } from '../../src/infrastructure/outbox/relay-leader';
import { createDataSource } from '../../src/infrastructure/postgres/data-source';

/**
 * Brings the test database (LEDGER_DATABASE_URL) to the latest migration before any test runs.
 * If the tests' Redis (LEDGER_REDIS_URL) holds the state of an earlier test database (it was
 * dropped and made again, e.g. by `scripts/stack.sh reset` while Redis kept running), that state
 * belongs to no event store any more: it is emptied, or every test would meet the service's
 * refusal to mix two event stores.
 */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig(process.env);
  const dataSource = createDataSource(config.postgres);
  await dataSource.initialize();
  let storeId: string | undefined;
  try {
    await dataSource.runMigrations({ transaction: 'each' });
    const rows = (await dataSource.query('SELECT store_id FROM ledger_store_identity')) as { store_id: string }[];
    storeId = rows[0]?.store_id;
  } finally {
    await dataSource.destroy();
  }
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    const bound = await redis.get(RelayLeaderLease.IDENTITY_KEY);
    if (bound !== null && bound !== storeId) {
      process.stderr.write(
        `test setup: ${config.redis.url} held the state of event store ${bound}, not of the test database's ` +
          `${storeId}; emptying it (FLUSHDB)\n`,
      );
      await redis.flushdb();
    }
  } finally {
    redis.disconnect();
  }
}
