import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import { createDataSource, MIGRATIONS } from '../../src/infrastructure/postgres/data-source';
import { pollUntil } from '../support/isolated-ledger';
import { deleteTopic, readTopicUntil } from '../support/kafka-reader';
import { startLedger, uid } from '../support/ledger-app';
import { PrivateRedis } from '../support/redis-server';

/**
 * Issue 8, item 3: migration KafkaWatermark1764979200000 replaces ledger_kafka_queue by a
 * watermark. An upgrade with a backlog loses nothing: the events still queued (not acknowledged
 * by Kafka) are after the watermark, and the upgraded service publishes them. The down
 * migration makes the queue again from the events after the watermark, with its vacuum settings.
 */
const BEFORE = MIGRATIONS.slice(
  0,
  MIGRATIONS.findIndex((m) => m.name === 'KafkaWatermark1764979200000'),
);

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function dataSource(url: string, migrations: DataSource['options']['migrations']): DataSource {
  const base = createDataSource(loadConfig({ ...process.env, LEDGER_DATABASE_URL: url }).postgres);
  return new DataSource({ ...base.options, migrations } as DataSource['options']);
}

async function migrate(url: string, migrations: DataSource['options']['migrations']): Promise<void> {
  const db = dataSource(url, migrations);
  await db.initialize();
  try {
    await db.runMigrations({ transaction: 'each' });
  } finally {
    await db.destroy();
  }
}

async function revertLast(url: string): Promise<void> {
  const db = dataSource(url, MIGRATIONS);
  await db.initialize();
  try {
    await db.undoLastMigration({ transaction: 'each' });
  } finally {
    await db.destroy();
  }
}

jest.setTimeout(120_000);

describe('migration: the Kafka queue becomes a watermark, and back', () => {
  const base = process.env['LEDGER_DATABASE_URL'] ?? '';
  const name = `ledger_wm_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(base, name);
  const accountId = uid('wm');
  const ids = Array.from({ length: 10 }, () => randomUUID());
  let pool: Pool;

  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
    (await pool.query(sql, params)).rows as T[];

  beforeAll(async () => {
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    await migrate(url, BEFORE);
    pool = new Pool({ connectionString: url, max: 4 });
    // The previous version's state: ten events of one account, and a publisher that got 1..5
    // and 7 acknowledged (7 went out in a batch of its own) while 6 and 8..10 are still queued.
    await query(
      `INSERT INTO ledger_events (event_id, account_id, version, type, currency, amount, balance_after, held_after,
                                  reference_id, reservation_id, counterparty_account_id, payload, metadata, occurred_at)
       SELECT id, $2, v, CASE WHEN v = 1 THEN 'ACCOUNT_OPENED' ELSE 'FUNDS_DEPOSITED' END, 'USD',
              CASE WHEN v = 1 THEN 0 ELSE 100 END, (v - 1) * 100, 0, 'ref-' || v, '', '',
              CASE WHEN v = 1 THEN '{"overdraft_limit":"0"}'::jsonb ELSE '{}'::jsonb END,
              '{"client":{},"traceparent":"","idempotency_key":""}'::jsonb, now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, v)`,
      [ids, accountId],
    );
    await query(
      `INSERT INTO ledger_kafka_queue (global_seq, account_id, version)
       SELECT global_seq, account_id, version FROM ledger_events WHERE version IN (6, 8, 9, 10)`,
    );
  });

  afterAll(async () => {
    await pool?.end();
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  async function seqOfVersion(version: number): Promise<number> {
    const rows = await query<{ seq: string }>(
      `SELECT global_seq::text AS seq FROM ledger_events WHERE account_id = $1 AND version = $2`,
      [accountId, version],
    );
    return Number(rows[0]?.seq);
  }

  async function tableExists(table: string): Promise<boolean> {
    const rows = await query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [table]);
    return rows[0]?.t !== null && rows[0]?.t !== undefined;
  }

  it('up: the watermark starts just below the oldest queued event; the queue is gone', async () => {
    await migrate(url, MIGRATIONS);
    const [row] = await query<{ seq: string }>(`SELECT published_seq::text AS seq FROM ledger_kafka_watermark`);
    expect(Number(row?.seq)).toBe((await seqOfVersion(6)) - 1);
    expect(await tableExists('ledger_kafka_queue')).toBe(false);
    const [sequence] = await query<{ cache_size: string }>(
      `SELECT cache_size::text FROM pg_sequences WHERE sequencename = 'ledger_events_global_seq_seq'`,
    );
    expect(sequence?.cache_size).toBe('1');
  });

  it('down: the queue holds again what is after the watermark, with its vacuum settings', async () => {
    await revertLast(url);
    expect(await tableExists('ledger_kafka_watermark')).toBe(false);
    const queued = await query<{ version: string }>(`SELECT version::text FROM ledger_kafka_queue ORDER BY global_seq`);
    expect(queued.map((r) => Number(r.version))).toEqual([6, 7, 8, 9, 10]);
    const [options] = await query<{ reloptions: string[] }>(
      `SELECT reloptions FROM pg_class WHERE relname = 'ledger_kafka_queue'`,
    );
    expect(options?.reloptions).toEqual(expect.arrayContaining(['autovacuum_vacuum_threshold=200']));
    // Up again, for the service below.
    await migrate(url, MIGRATIONS);
  });

  it('the upgraded service publishes every event that was still queued (and what follows it), in order', async () => {
    const redis = await PrivateRedis.start();
    const topic = `ledger.test.${uid('wm')}`;
    const ledger = await startLedger({
      LEDGER_REDIS_URL: redis.url,
      LEDGER_DATABASE_URL: url,
      LEDGER_KAFKA_TOPIC: topic,
      LOG_LEVEL: 'silent',
    });
    try {
      const records = await readTopicUntil(topic, (rs) => rs.filter((r) => r.key === accountId).length >= 5);
      const mine = records.filter((r) => r.key === accountId);
      expect(mine.map((r) => Number(r.event.version))).toEqual([6, 7, 8, 9, 10]);
      expect(mine.map((r) => r.headers['event-id'])).toEqual(ids.slice(5));
      const newest = await seqOfVersion(10);
      await pollUntil('watermark at the newest event', async () => {
        const [row] = await query<{ seq: string }>(`SELECT published_seq::text AS seq FROM ledger_kafka_watermark`);
        return Number(row?.seq) === newest ? true : undefined;
      });
    } finally {
      await ledger.close();
      await redis.stop();
      await deleteTopic(topic);
    }
  });
});
