import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { auditStores } from '../../src/audit/audit-command';
import type { AuditResult } from '../../src/audit/audit-result';
import { loadConfig } from '../../src/config/config';
import { AccountEvent } from '../../src/generated/ledger/v1/ledger';
import { RedisKeys } from '../../src/infrastructure/redis/redis-keys';
import { buildService } from '../observability/support/built-service';
import { mapLimit } from '../support/event-store-checks';
import { drained, type IsolatedLedger, startIsolatedLedger } from '../support/isolated-ledger';
import { readTopicUntil } from '../support/kafka-reader';
import { uid } from '../support/ledger-app';
import { money } from '../support/ledger-expect';
import { Workload, type WorkloadAccount } from '../support/workload';

/**
 * `npm run audit` against real services: a healthy store (after a mixed workload with transfers,
 * partial and final commits, releases, a hold with an expiry, replays) passes, with Kafka too;
 * then each corruption made on purpose in Redis, Postgres or Kafka fails the audit, naming the
 * account and the field, and the command exits non-zero.
 */
const SEED = Number(process.env['LEDGER_TEST_SEED'] ?? Date.now() % 2 ** 31);
const REPO = join(__dirname, '../..');

describe('npm run audit', () => {
  let iso: IsolatedLedger;
  let env: Record<string, string>;
  let accounts: WorkloadAccount[];
  let keys: RedisKeys;

  const audit = (kafka = true): Promise<AuditResult> =>
    auditStores(loadConfig({ ...process.env, ...env }), { kafka, waitDrainedMs: 10_000, recheckDelayMs: 100 });

  /** The built command, as an operator runs it: its exit code and output. */
  function command(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['dist/src/audit/audit-command.js', ...args], {
        cwd: REPO,
        env: { ...process.env, NODE_OPTIONS: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  beforeAll(async () => {
    buildService();
    iso = await startIsolatedLedger();
    keys = new RedisKeys(iso.buckets);
    env = {
      LEDGER_REDIS_URL: iso.redis.url,
      LEDGER_DATABASE_URL: iso.db.url,
      LEDGER_KAFKA_TOPIC: iso.topic,
      LEDGER_EXTRA_ASSETS: 'BTC:8',
    };
    const client = iso.ledger.client;
    accounts = Array.from({ length: 12 }, (_, i) => ({ accountId: uid('aud'), currency: i % 3 === 0 ? 'JPY' : 'USD' }));
    await mapLimit(accounts, 6, async ({ accountId, currency }) => {
      await client.call('OpenAccount', { accountId, currency });
      await client.call('Deposit', {
        transactionId: uid('fund'),
        accountId,
        amount: money(currency === 'JPY' ? '50000' : '500.00', currency),
      });
    });
    // A hold that expires before the audit (RESERVATION_EXPIRED) and one that waits in the index.
    const first = accounts[1] as WorkloadAccount;
    await client.call('Reserve', {
      reservationId: uid('ttl'),
      accountId: first.accountId,
      amount: money('1.00'),
      ttlSeconds: 1,
    });
    await client.call('Reserve', {
      reservationId: uid('ttl'),
      accountId: first.accountId,
      amount: money('2.00'),
      ttlSeconds: 3600,
    });
    await new Workload(client, { accounts, seed: SEED, concurrency: 8, ops: 600 }).run();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await drained(iso);
    // Every stored event is on the topic before the audit reads it.
    const stored = Number((await iso.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ledger_events`))[0]?.n);
    await readTopicUntil(iso.topic, (records) => new Set(records.map((r) => r.event.eventId)).size >= stored);
  }, 240_000);

  afterAll(async () => {
    await iso?.close();
  }, 60_000);

  it('passes on a healthy store: Redis == fold(Postgres) == fold(Kafka), records, totals', async () => {
    const result = await audit();
    expect({ seed: SEED, differences: result.differences }).toEqual({ seed: SEED, differences: [] });
    const events = Number((await iso.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ledger_events`))[0]?.n);
    expect(result.summary).toMatchObject({
      accounts: accounts.length,
      events,
      missingInRedis: 0,
      differences: 0,
      pendingAtStart: { outbox: 0, kafkaQueue: 0 },
    });
    expect(result.summary.kafka?.records).toBeGreaterThanOrEqual(events);
    expect(result.summary.currencies.map((c) => c.currency)).toEqual(['JPY', 'USD']);
    expect(result.summary.idempotencyKeys).toBeGreaterThan(accounts.length * 2);
  }, 120_000);

  it('the command prints a summary and exits 0 on the healthy store', async () => {
    const run = await command(['--kafka']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`audit: ${accounts.length} accounts`);
    expect(run.stdout).toMatch(/audit: OK in [0-9.]+ s\n$/);
  }, 120_000);

  it('an account lost from Redis is not a difference (rebuilt on first use)', async () => {
    const lost = accounts[4] as WorkloadAccount;
    const fields = await iso.direct.hgetall(keys.account(lost.accountId));
    await iso.direct.del(keys.account(lost.accountId));
    try {
      const result = await audit(false);
      expect(result.differences).toEqual([]);
      expect(result.summary.missingInRedis).toBe(1);
    } finally {
      await iso.direct.hset(keys.account(lost.accountId), fields);
    }
  }, 60_000);

  it('a corrupted Redis balance fails it, naming the account and the field; the command exits 1', async () => {
    const victim = accounts[2] as WorkloadAccount;
    const key = keys.account(victim.accountId);
    const balance = (await iso.direct.hget(key, 'bal')) as string;
    await iso.direct.hset(key, 'bal', String(BigInt(balance) + 1n));
    try {
      const result = await audit(false);
      expect(result.differences).toContainEqual({
        account: victim.accountId,
        field: 'balance',
        detail: `redis "${BigInt(balance) + 1n}" != postgres "${balance}"`,
      });
      const run = await command([]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`DIFF account ${victim.accountId} field balance:`);
      expect(run.stdout).toContain('audit: FAILED:');
    } finally {
      await iso.direct.hset(key, 'bal', balance);
    }
  }, 120_000);

  it('a corrupted stored event or a lost idempotency record fails it, naming the account and the field', async () => {
    const victim = (accounts[3] as WorkloadAccount).accountId;
    await iso.db.query(
      `UPDATE ledger_events SET balance_after = balance_after + 1 WHERE account_id = $1 AND version = 2`,
      [victim],
    );
    const [record] = await iso.db.query<{
      idempotency_key: string;
      account_id: string;
      request_hash: string;
      version: string;
      event_id: string;
    }>(
      `DELETE FROM ledger_idempotency WHERE account_id = $1 AND idempotency_key LIKE 'tx:fund-%'
        RETURNING idempotency_key, account_id, request_hash, version::text, event_id::text`,
      [(accounts[5] as WorkloadAccount).accountId],
    );
    try {
      const result = await audit(false);
      expect(result.differences).toContainEqual({
        account: victim,
        field: 'postgres.events',
        detail: expect.stringContaining('disagree with the folded'),
      });
      expect(result.differences).toContainEqual({
        account: (accounts[5] as WorkloadAccount).accountId,
        field: `idempotency[${record?.idempotency_key}]`,
        detail: expect.stringContaining('no ledger_idempotency record'),
      });
    } finally {
      await iso.db.query(
        `UPDATE ledger_events SET balance_after = balance_after - 1 WHERE account_id = $1 AND version = 2`,
        [victim],
      );
      if (record) {
        await iso.db.query(
          `INSERT INTO ledger_idempotency (idempotency_key, account_id, request_hash, version, event_id) VALUES ($1, $2, $3, $4, $5)`,
          [record.idempotency_key, record.account_id, record.request_hash, record.version, record.event_id],
        );
      }
    }
    expect((await audit(false)).differences).toEqual([]);
  }, 120_000);

  it('a Kafka record that is not its stored event fails the Kafka check, naming the account and the field', async () => {
    const records = await readTopicUntil(iso.topic, () => true);
    const original = records.find((r) => r.event.amount !== '') ?? records[0];
    if (!original) throw new Error('empty topic');
    const tampered = { ...original.event, amount: '123.45' };
    const producer = new Kafka({
      clientId: 'audit-test',
      brokers: (process.env['LEDGER_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','),
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: iso.topic,
        messages: [
          {
            key: original.key,
            value: Buffer.from(AccountEvent.encode(tampered).finish()),
            headers: original.headers,
            partition: original.partition,
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const result = await audit(true);
    expect(result.differences).toEqual([
      {
        account: original.key,
        field: `kafka[v${original.event.version}].amount`,
        detail: `kafka "123.45" != postgres "${original.event.amount}"`,
      },
    ]);
  }, 120_000);
});
