// Redis-side cost of the ledger's Reserve script, without the service: sequential Reserves
// through RedisLedgerStore (the built dist/), then the server's own per-command figures from
// INFO commandstats. A Lua `redis.call` costs more than most of a script's own work on some
// machines: compare script variants here before a full `npm run bench`.
//
//   node bench/redis-cost.js <redis url with an EMPTY logical database, e.g. redis://127.0.0.1:26401/5> [calls] [lua dir]
//
// Refuses a database that holds keys. Resets the server's command statistics (CONFIG RESETSTAT).
const Redis = require('ioredis');
const { LuaScripts } = require('../dist/src/infrastructure/redis/lua-scripts');
const { RedisKeys } = require('../dist/src/infrastructure/redis/redis-keys');
const { RedisLedgerStore } = require('../dist/src/infrastructure/redis/redis-ledger-store');
const { CurrencyRegistry } = require('../dist/src/ledger/domain/currency');

const BUCKETS = 16;

async function main([url, calls = '2000', luaDir]) {
  if (!url) throw new Error('usage: node bench/redis-cost.js <redis url of an empty database> [calls] [lua dir]');
  const redis = new Redis(url);
  try {
    if ((await redis.dbsize()) > 0) throw new Error(`${url} holds keys: give an empty logical database`);
    const scripts = new LuaScripts(redis, luaDir);
    await scripts.loadAll();
    const store = new RedisLedgerStore(redis, scripts, new CurrencyRegistry(), {
      buckets: BUCKETS,
      idempotencyRetentionSeconds: 86400,
      outboxMaxPerBucket: 10_000_000,
      reservationLocationCacheMax: 1000,
      idFilterBits: 8388608,
      idFilterHashes: 7,
    });
    // The id filters count as rebuilt (no event store here): a new id is settled in Redis.
    const keys = new RedisKeys(BUCKETS);
    for (let b = 0; b < BUCKETS; b++) await redis.set(keys.idFilterReadyOfBucket(b), '1');
    const ctx = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    await store.openAccount({ accountId: 'cost-1', currency: 'USD', overdraftLimit: 0n, metadata: {} }, ctx);
    await store.deposit(
      { transactionId: 'cost-fund', accountId: 'cost-1', currency: 'USD', amount: 10n ** 12n, metadata: {} },
      ctx,
    );
    await redis.config('RESETSTAT');
    const n = Number(calls);
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await store.reserve(
        { reservationId: `cost-r${i}`, accountId: 'cost-1', currency: 'USD', amount: 1n, orderId: '', ttlSeconds: 0 },
        ctx,
      );
    }
    const wallUs = Number(process.hrtime.bigint() - started) / 1e3 / n;
    const stats = await redis.info('commandstats');
    const rows = [...stats.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/g)]
      .map(([, command, count, usec, perCall]) => ({
        command,
        perReserve: Number(count) / n,
        usec: Number(usec),
        perCall,
      }))
      .filter((row) => row.command !== 'config|resetstat' && row.command !== 'info')
      .sort((a, b) => b.usec - a.usec);
    process.stdout.write(`${n} Reserves, ${wallUs.toFixed(0)} µs each end to end (client included)\n`);
    for (const row of rows) {
      process.stdout.write(
        `${row.command.padEnd(12)} ${row.perReserve.toFixed(2).padStart(5)} per Reserve  ${row.perCall.padStart(8)} µs per call\n`,
      );
    }
  } finally {
    redis.disconnect();
  }
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`redis-cost: ${error.message}\n`);
  process.exit(1);
});
