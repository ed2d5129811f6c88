import { loadConfig } from '../../config/config';
import { ConfigError } from '../../config/config-error';
import { createDataSource } from '../postgres/data-source';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { LuaScripts } from '../redis/lua-scripts';
import { createRedisClient } from '../redis/redis-client';
import { checkStoreBinding } from '../outbox/relay-leader';
import { AccountRecovery } from './account-recovery';
import { IdFilterRebuild, idFilterRebuildOptions } from './id-filter-rebuild';

/** Accounts read from the store per round: bounds memory and each query. */
const PAGE = 500;

/**
 * `npm run rebuild-redis`: writes every account the event store knows back into Redis (snapshot
 * + later events, active reservations, their expiry entries and claims), then the id filters if
 * Redis lacks them (IdFilterRebuild; a running service does that too). Accounts Redis still
 * holds are left as they are, so it is safe to run against a live service.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = createDataSource(config.postgres);
  await db.initialize();
  const redis = createRedisClient(config.redis, 'ledger-rebuild');
  await redis.connect();
  try {
    const events = new PostgresEventStore(db);
    // Never write one event store's accounts into a Redis that holds another's.
    await checkStoreBinding(redis, await events.storeId());
    const recovery = new AccountRecovery(events, new LuaScripts(redis), config.ledger.buckets);
    let after = '';
    let total = 0;
    for (;;) {
      const rows = (await db.query(
        `SELECT DISTINCT account_id FROM ledger_events WHERE account_id > $1 ORDER BY account_id LIMIT $2`,
        [after, PAGE],
      )) as { account_id: string }[];
      if (rows.length === 0) break;
      for (const row of rows) await recovery.restore(row.account_id);
      total += rows.length;
      after = rows[rows.length - 1]?.account_id ?? after;
      process.stdout.write(`checked ${total} accounts\n`);
    }
    process.stdout.write(`done: ${total} accounts are in Redis\n`);
    const filters = new IdFilterRebuild(redis, db, idFilterRebuildOptions(config), {
      rebuilt: (ids, seconds) => process.stdout.write(`id filters rebuilt: ${ids} ids in ${seconds.toFixed(1)} s\n`),
      failed: () => undefined,
    });
    if (!(await filters.rebuildIfNeeded())) {
      process.stdout.write('id filters: already complete (or another instance is rebuilding them)\n');
    }
  } finally {
    redis.disconnect();
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
