import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { auditStores } from '../../src/audit/audit-command';
import type { AuditResult } from '../../src/audit/audit-result';
import { loadConfig } from '../../src/config/config';
import { buildService } from '../observability/support/built-service';
import { mapLimit } from '../support/event-store-checks';
import { deleteTopic } from '../support/kafka-reader';
import { uid } from '../support/ledger-app';
import { LedgerClient } from '../support/ledger-client';
import { money } from '../support/ledger-expect';
import { TestDatabase } from '../support/pg';
import { type StackService, stack, stackMust } from '../support/stack';
import {
  acknowledged,
  BUSINESS_REJECTS,
  type Outcome,
  ownEvent,
  replayProblems,
  type WorkloadAccount,
} from '../support/workload';
import { type Fault, FAULT_KINDS, type FaultKind, faultSchedule } from './support/fault-schedule';
import { LoadDriver, type OpRecord } from './support/load-driver';
import { ServiceProcess } from '../support/service-process';

/**
 * `npm run test:faults`: the built service in durable mode under a bounded open-loop load (mixed
 * RPCs over many accounts, failed calls retried by the client with the same ids) while a driver
 * SIGKILLs Redis, Postgres, Kafka (through scripts/stack.sh) and the service itself at seeded
 * random moments, restarting each, and wipes Redis under the running service. Afterwards:
 * - every call answered OK is in Postgres exactly once (first answers name their own event's
 *   version; no (account, type, id) is stored twice);
 * - no call whose last answer was a business reject changed anything;
 * - every failure the client saw is a retriable one or a business reject (no INTERNAL);
 * - deliberate replays answer what the first call answered;
 * - the audit passes: Redis == fold(Postgres) == fold(Kafka), Kafka holding every stored event.
 * The seed is printed first; LEDGER_FAULTS_SEED=<seed> replays the same schedule and load.
 * LEDGER_FAULTS_ROUNDS (faults of each kind, default 2) and LEDGER_FAULTS_RATE (calls/s,
 * default 60) size it; the default run takes about three minutes.
 */
const SEED = Number(process.env['LEDGER_FAULTS_SEED'] ?? Date.now() % 2 ** 31);
const ROUNDS = Number(process.env['LEDGER_FAULTS_ROUNDS'] ?? 2);
const RATE = Number(process.env['LEDGER_FAULTS_RATE'] ?? 60);
/** The stack's Redis, a logical database of its own (dev uses 0, the other tests 1). */
const REDIS_DB = 3;
const REDIS_PORT = Number(process.env['LEDGER_REDIS_PORT'] ?? 6379);
const ACK_TIMEOUT_MS = 3000;
const ALL: StackService[] = ['redis', 'postgres', 'kafka'];

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function log(line: string): void {
  process.stdout.write(`faults: ${line}\n`);
}

describe('fault suite: SIGKILL of Redis, Postgres, Kafka and the service, and a Redis wipe, under load', () => {
  const schedule: Fault[] = faultSchedule(SEED, ROUNDS);
  const survived = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  let db: TestDatabase;
  let direct: Redis;
  let service: ServiceProcess;
  let client: LedgerClient;
  const oldClients: LedgerClient[] = [];
  let grpcAddress: string;
  let env: Record<string, string>;
  let topic: string;
  let accounts: WorkloadAccount[];
  let driver: LoadDriver;
  let audit: AuditResult | undefined;

  beforeAll(async () => {
    log(`seed ${SEED} (LEDGER_FAULTS_SEED=${SEED} npm run test:faults replays it), ${ROUNDS} rounds, ${RATE} calls/s`);
    log(`schedule ${schedule.map((f) => `${f.kind}(+${f.gapMs}ms, down ${f.downMs}ms)`).join(' ')}`);
    await stackMust('up', ALL);
    buildService();
    db = await TestDatabase.create('ledger_faults');
    direct = new Redis(REDIS_PORT, '127.0.0.1', { db: REDIS_DB, maxRetriesPerRequest: 1 });
    direct.on('error', () => undefined); // Redis is killed on purpose
    await direct.flushdb();
    topic = `ledger.faults.${uid('t')}`;
    env = {
      LEDGER_REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}/${REDIS_DB}`,
      LEDGER_DATABASE_URL: db.url,
      LEDGER_KAFKA_TOPIC: topic,
      LEDGER_KAFKA_PARTITIONS: '4',
      LEDGER_ACK_MODE: 'durable',
      LEDGER_DURABLE_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      // A restarting Kafka (a JVM) starves a 2-core machine for seconds: keep Redis calls bounded
      // but not at the edge of that.
      LEDGER_REDIS_COMMAND_TIMEOUT_MS: '1500',
      LOG_LEVEL: 'info',
      OTEL_SDK_DISABLED: 'true',
    };
    service = await ServiceProcess.onFreePorts(env);
    grpcAddress = service.grpcAddress;
    await service.start();
    if (!(await service.ready(30_000))) throw new Error('the service did not become ready');
    client = new LedgerClient(grpcAddress);
    accounts = Array.from({ length: 60 }, (_, i) => ({ accountId: uid('flt'), currency: i % 4 === 0 ? 'JPY' : 'USD' }));
    await mapLimit(accounts, 8, async ({ accountId, currency }) => {
      await client.call('OpenAccount', { accountId, currency });
      const amount = currency === 'JPY' ? '300000' : '3000.00';
      await client.call('Deposit', { transactionId: uid('fund'), accountId, amount: money(amount, currency) });
    });
    driver = new LoadDriver(() => client, {
      accounts,
      seed: SEED,
      ratePerSecond: RATE,
      inFlightMax: 200,
      callTimeoutMs: ACK_TIMEOUT_MS + 2000,
    });
  }, 300_000);

  afterAll(async () => {
    // Whatever happened, the shared services run again when the suite ends.
    const restarted = await stack('up', ALL);
    await service?.stop();
    for (const c of [client, ...oldClients]) c?.close();
    direct?.disconnect();
    await db?.drop().catch(() => undefined);
    if (topic) await deleteTopic(topic);
    if (restarted.code !== 0) throw new Error(`could not restart the stack: ${restarted.output.slice(-2000)}`);
  }, 180_000);

  async function inject(fault: Fault): Promise<void> {
    const service_ = fault.kind.split('-')[0] as StackService | 'service';
    if (fault.kind === 'redis-wipe') {
      await direct.flushdb();
    } else if (service_ === 'service') {
      await service.kill();
      await sleep(fault.downMs);
      await service.start();
      // A new channel: the old one may sit in its reconnect backoff. Its calls fail and are retried.
      oldClients.push(client);
      client = new LedgerClient(grpcAddress);
    } else {
      await stackMust('kill', [service_]);
      await sleep(fault.downMs);
      await stackMust('up', [service_]);
    }
    survived[fault.kind]++;
  }

  const lastOf = (r: OpRecord): Outcome => r.attempts[r.attempts.length - 1] as Outcome;
  const okOf = (r: OpRecord): Outcome | undefined => r.attempts.find((a) => a.reply);

  it('runs the schedule under load; every operation ends answered or rejected, none still failing', async () => {
    const started = Date.now();
    driver.start();
    try {
      await sleep(3000);
      for (const fault of schedule) {
        await sleep(fault.gapMs);
        const at = ((Date.now() - started) / 1000).toFixed(1);
        await inject(fault);
        log(`${at}s ${fault.kind} (down ${fault.downMs} ms) survived`);
      }
      await sleep(5000);
    } finally {
      // Clients keep retrying what failed for up to a minute after the load stops.
      await driver.stop(60_000);
    }
    const ops = driver.ops;
    const retried = ops.filter((r) => r.attempts.length > 1);
    const counts = {
      seed: SEED,
      seconds: Math.round((Date.now() - started) / 1000),
      survived,
      serviceStarts: service.starts,
      killedFromOutside: service.killedFromOutside,
      operations: ops.length,
      attempts: ops.reduce((n, r) => n + r.attempts.length, 0),
      ok: ops.filter((r) => r.final === 'ok').length,
      okAfterRetry: retried.filter((r) => r.final === 'ok').length,
      rejected: ops.filter((r) => r.final === 'rejected').length,
      retried: retried.length,
      failed: ops.filter((r) => r.final === 'failed').length,
      deliberateReplays: ops.filter((r) => r.op.replayOf).length,
      skippedTicks: driver.skipped,
    };
    log(`counts ${JSON.stringify(counts)}`);
    const logFile = join(tmpdir(), `ledger-faults-${SEED}.log`);
    writeFileSync(logFile, `${service.lines.join('\n')}\n`);
    log(`the service's ${service.lines.length} log lines: ${logFile}`);
    expect(service.crashes).toEqual([]);
    // Every line the service wrote, through every outage, is a pino JSON line.
    const notJson = service.lines.filter((line) => !line.startsWith('{') || !isJson(line));
    expect(notJson.slice(0, 5)).toEqual([]);
    expect(service.stderr).not.toContain('[ioredis]');
    expect(survived).toEqual(Object.fromEntries(FAULT_KINDS.map((k) => [k, ROUNDS])));
    expect(counts.failed).toBe(0);
    expect(counts.operations).toBeGreaterThan(RATE * 60);
    expect(counts.retried).toBeGreaterThan(0);
  }, 600_000);

  it('every failure was retriable or a business reject: no INTERNAL, no unexpected reason', () => {
    const unexpected = new Map<string, number>();
    for (const r of driver.ops) {
      for (const a of r.attempts) {
        const e = a.error;
        if (!e) continue;
        const fine =
          BUSINESS_REJECTS.has(e.reason ?? '') ||
          e.reason === 'DEPENDENCY_UNAVAILABLE' ||
          e.reason === 'OVERLOADED' ||
          (e.reason === undefined && [4, 1, 14].includes(e.code)); // DEADLINE_EXCEEDED, CANCELLED, UNAVAILABLE
        if (fine) continue;
        const key = `${r.op.method}: code ${e.code} ${e.reason ?? ''} ${e.message.slice(0, 120)}`;
        unexpected.set(key, (unexpected.get(key) ?? 0) + 1);
      }
    }
    // What the service logged about INTERNAL answers (its cause stays in the logs, not in the reply).
    const causes = new Map<string, number>();
    if (unexpected.size > 0) {
      for (const line of service.lines) {
        const entry = JSON.parse(line) as {
          grpc_code?: string;
          err?: { type?: string; message?: string; stack?: string };
        };
        if (entry.grpc_code !== 'INTERNAL') continue;
        const cause = `${entry.err?.type}: ${entry.err?.message} @ ${entry.err?.stack?.split('\n')[1]?.trim()}`;
        causes.set(cause, (causes.get(cause) ?? 0) + 1);
      }
    }
    expect({ seed: SEED, unexpected: Object.fromEntries(unexpected), causes: Object.fromEntries(causes) }).toEqual({
      seed: SEED,
      unexpected: {},
      causes: {},
    });
  });

  it('deliberate replays answered what the first call answered', () => {
    expect({ seed: SEED, problems: replayProblems(driver.ops.map(lastOf)).slice(0, 10) }).toEqual({
      seed: SEED,
      problems: [],
    });
  });

  it('every call answered OK is in Postgres exactly once; nothing rejected was applied', async () => {
    expect(await service.ready(30_000)).toBe(true);
    const rows = await db.query<{ account_id: string; version: string; type: string; reference_id: string }>(
      `SELECT account_id, version::text, type, reference_id FROM ledger_events`,
    );
    const atVersion = new Map(rows.map((r) => [`${r.account_id}|${r.version}`, r.reference_id]));
    const own = new Set(rows.map((r) => `${r.account_id}|${r.type}|${r.reference_id}`));
    const problems: string[] = [];
    for (const r of driver.ops) {
      if (r.op.replayOf) continue;
      const ok = okOf(r);
      const mine = ownEvent(r.op);
      const stored = own.has(`${mine.accountId}|${mine.type}|${mine.ref}`);
      if (ok) {
        for (const [accountId, version, ref] of acknowledged(ok)) {
          const there = atVersion.get(`${accountId}|${version}`);
          if (there !== ref)
            problems.push(
              `${r.op.method} ${ref}: answered as ${accountId} v${version}, stored there: ${there ?? 'nothing'}`,
            );
        }
        if (!stored && r.op.kind !== 'release') problems.push(`${r.op.method} ${mine.ref}: answered OK, not stored`);
      } else if (r.final === 'rejected' && stored) {
        problems.push(`${r.op.method} ${mine.ref}: rejected (${lastOf(r).error?.reason}) but stored`);
      }
    }
    expect({ seed: SEED, problems: problems.slice(0, 10) }).toEqual({ seed: SEED, problems: [] });
    const twice = await db.query(
      `SELECT account_id, type, reference_id, count(*)::int AS n FROM ledger_events
        GROUP BY account_id, type, reference_id HAVING count(*) > 1 LIMIT 10`,
    );
    expect(twice).toEqual([]);
  }, 120_000);

  it('the audit passes: Redis == fold(Postgres) == fold(Kafka), Kafka holding every stored event', async () => {
    audit = await auditStores(
      loadConfig({
        ...process.env,
        LEDGER_REDIS_URL: env['LEDGER_REDIS_URL'],
        LEDGER_DATABASE_URL: db.url,
        LEDGER_KAFKA_TOPIC: topic,
      }),
      { kafka: true, waitDrainedMs: 120_000 },
    );
    log(`audit ${JSON.stringify(audit.summary)}`);
    expect({ seed: SEED, differences: audit.differences.slice(0, 20) }).toEqual({ seed: SEED, differences: [] });
    expect(audit.summary.pendingAtStart).toEqual({ outbox: 0, kafkaQueue: 0 });
    expect(audit.summary.accounts).toBe(accounts.length);
    expect(audit.summary.kafka?.records).toBeGreaterThanOrEqual(audit.summary.events);
  }, 240_000);
});
