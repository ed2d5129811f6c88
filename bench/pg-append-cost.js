// Postgres-side cost of the relay's batch transaction, without the service: sequential batches
// through BatchAppender (the built dist/, the same BEGIN + lock, INSERT and COMMIT the relay
// sends), at each batch size, then the CPU the server's backend spent per batch (from /proc, so
// Postgres must run on this machine), this client's CPU per batch (the relay's share: building
// the statement, the round trips' system calls, parsing the reply) and the wall time per batch. The two smallest sizes give
// the fixed cost of a batch and the cost of each event in it: what a change to the relay's
// transaction (fewer statements, fewer round trips, a different INSERT) saves, measured apart
// from the noise of a full `npm run bench`.
//
//   node bench/pg-append-cost.js <postgres url of a migrated database with no events> [batches] [sizes, e.g. 1,8,32]
//
// Refuses a database whose ledger_events holds rows. Leaves the events it wrote there.
const fs = require('fs');
const { randomUUID } = require('crypto');
const { Pool } = require('pg');
const { BatchAppender } = require('../dist/src/infrastructure/postgres/batch-append');

const ACCOUNTS = 100;

function cpuTicks(pid) {
  // utime + stime, fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name)
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Reserve-shaped events, each account's versions in order, as the relay reads them. */
function eventSource() {
  const versions = new Map();
  return () => {
    const accountId = `pg-cost-${Math.floor(Math.random() * ACCOUNTS)}`;
    const version = (versions.get(accountId) ?? 0) + 1;
    versions.set(accountId, version);
    const reservationId = randomUUID();
    return {
      eventId: randomUUID(),
      accountId,
      version,
      type: 'FundsReserved',
      occurredAtMs: Date.now(),
      currency: 'USD',
      amount: 1n,
      balanceAfter: 1_000_000n,
      heldAfter: BigInt(version),
      referenceId: reservationId,
      reservationId,
      counterpartyAccountId: '',
      metadata: {},
      details: { orderId: 'order-1', expiresAtMs: '0' },
      traceparent: '',
      idempotencyKey: `res:${reservationId}`,
      requestHash: '0123456789abcdef0123456789abcdef',
    };
  };
}

async function measure(appender, backendPid, next, batches, size) {
  const stillInRedis = async () => true;
  for (let i = 0; i < 20; i++) await appender.append(Array.from({ length: size }, next), stillInRedis);
  const ticks = cpuTicks(backendPid);
  const own = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) await appender.append(Array.from({ length: size }, next), stillInRedis);
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const { user, system } = process.cpuUsage(own);
  return {
    size,
    cpuUs: ((cpuTicks(backendPid) - ticks) * 1e4) / batches,
    clientUs: (user + system) / batches,
    wallMs: wallMs / batches,
  };
}

async function main([url, batchesArg = '400', sizesArg = '1,8,32']) {
  if (!url)
    throw new Error(
      'usage: node bench/pg-append-cost.js <postgres url of a migrated, empty database> [batches] [sizes]',
    );
  const batches = Number(batchesArg);
  const sizes = sizesArg.split(',').map(Number);
  if (!Number.isInteger(batches) || batches < 1 || batches > 100_000) throw new Error('batches: 1..100000');
  if (sizes.some((s) => !Number.isInteger(s) || s < 1 || s > 1000)) throw new Error('sizes: integers 1..1000');
  // One connection: the appender's, so that its backend is the one measured.
  const pool = new Pool({ connectionString: url, max: 1 });
  const appender = new BatchAppender(() => pool);
  try {
    const probe = await pool.connect();
    let backendPid;
    try {
      const { rows } = await probe.query(
        'SELECT pg_backend_pid() AS pid, (SELECT count(*) FROM ledger_events)::int AS n',
      );
      if (rows[0].n > 0)
        throw new Error(`${url}: ledger_events holds ${rows[0].n} rows; give a migrated, empty database`);
      backendPid = rows[0].pid;
    } finally {
      probe.release();
    }
    const next = eventSource();
    const results = [];
    for (const size of sizes) results.push(await measure(appender, backendPid, next, batches, size));
    for (const r of results) {
      process.stdout.write(
        `batch ${String(r.size).padStart(4)}: Postgres backend ${r.cpuUs.toFixed(0).padStart(5)} us CPU per batch ` +
          `(${(r.cpuUs / r.size).toFixed(0)} per event), this client ${r.clientUs.toFixed(0)} us, ` +
          `${r.wallMs.toFixed(2)} ms per batch\n`,
      );
    }
    if (results.length >= 2) {
      const [a, b] = results;
      const perEvent = (b.cpuUs - a.cpuUs) / (b.size - a.size);
      process.stdout.write(
        `fit of the first two: ${(a.cpuUs - perEvent * a.size).toFixed(0)} us per batch + ${perEvent.toFixed(0)} us per event\n`,
      );
    }
  } finally {
    appender.close();
    await pool.end();
  }
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`pg-append-cost: ${error.message}\n`);
  process.exit(1);
});
