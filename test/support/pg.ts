import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { loadConfig } from '../../src/config/config';
import type { EventType, LedgerEvent } from '../../src/ledger/domain/events';
import { isEventType } from '../../src/ledger/domain/events';
import { createDataSource } from '../../src/infrastructure/postgres/data-source';

/** A ledger_events row as the tests read it: BIGINT columns as strings, exactly as stored. */
export interface StoredEvent {
  global_seq: string;
  event_id: string;
  account_id: string;
  version: string;
  type: string;
  currency: string;
  amount: string;
  balance_after: string;
  held_after: string;
  reference_id: string;
  reservation_id: string;
  counterparty_account_id: string;
  payload: Record<string, unknown>;
  metadata: { client?: Record<string, string>; traceparent?: string; idempotency_key?: string };
  occurred_ms: string;
}

const COLUMNS = `global_seq::text, event_id::text, account_id, version::text, type, currency, amount::text,
  balance_after::text, held_after::text, reference_id, reservation_id, counterparty_account_id, payload, metadata,
  (extract(epoch FROM occurred_at) * 1000)::bigint::text AS occurred_ms`;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A database of its own for one suite, on the stack's Postgres, migrated with the project's
 * migrations. Why not ledger_test: the Kafka publisher takes a per-database advisory lock and
 * publishes every stored event of that database to *its* topic, so a suite sharing ledger_test
 * with another running service would see its events go to the other service's topic (and the
 * relay of a shared Redis would write them to whichever database its leader uses). A suite with
 * its own Redis (PrivateRedis) and its own database sees exactly its own pipeline.
 */
export class TestDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
    readonly pool: Pool,
  ) {}

  static async create(prefix = 'ledger_es'): Promise<TestDatabase> {
    const base = process.env['LEDGER_DATABASE_URL'];
    if (!base) throw new Error('LEDGER_DATABASE_URL is not set');
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: base });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = withDatabase(base, name);
    const dataSource = createDataSource(loadConfig({ ...process.env, LEDGER_DATABASE_URL: url }).postgres);
    await dataSource.initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await dataSource.destroy();
    }
    const pool = new Pool({ connectionString: url, max: 16, connectionTimeoutMillis: 2000 });
    // A pool client dying while Postgres is stopped on purpose must not crash the test process.
    pool.on('error', () => undefined);
    return new TestDatabase(name, url, pool);
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }

  /** Every stored event of these accounts, by account then version. */
  async events(accountIds: readonly string[]): Promise<StoredEvent[]> {
    return this.query<StoredEvent>(
      `SELECT ${COLUMNS} FROM ledger_events WHERE account_id = ANY($1::text[]) ORDER BY ledger_events.account_id, ledger_events.version`,
      [accountIds],
    );
  }

  async eventsOf(accountId: string): Promise<StoredEvent[]> {
    return this.events([accountId]);
  }

  async maxVersion(accountId: string): Promise<number> {
    const rows = await this.query<{ v: string | null }>(
      `SELECT max(version)::text AS v FROM ledger_events WHERE account_id = $1`,
      [accountId],
    );
    return Number(rows[0]?.v ?? 0);
  }

  /** Events stored but not yet acknowledged by Kafka (after the publisher's watermark). */
  async kafkaBacklog(): Promise<number> {
    const rows = await this.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ledger_events WHERE global_seq > (SELECT published_seq FROM ledger_kafka_watermark)`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The publisher's watermark: every event with global_seq <= it is acknowledged by Kafka. */
  async kafkaWatermark(): Promise<number> {
    const rows = await this.query<{ seq: string }>(`SELECT published_seq::text AS seq FROM ledger_kafka_watermark`);
    return Number(rows[0]?.seq ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  /** Closes the pool and drops the database (forcing out connections a crashed app left). */
  async drop(): Promise<void> {
    await this.close();
    const base = process.env['LEDGER_DATABASE_URL'];
    if (!base) return;
    const admin = new Client({ connectionString: base });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}

/**
 * A stored row as the domain's LedgerEvent, converted here rather than by the service's own
 * row mapper (src/infrastructure/postgres/event-rows.ts), so a fault there cannot hide itself.
 */
export function eventOfStored(row: StoredEvent): LedgerEvent {
  if (!isEventType(row.type)) throw new Error(`stored event ${row.event_id} has unknown type ${row.type}`);
  const p = row.payload as {
    overdraft_limit?: string;
    order_id?: string;
    expires_at_ms?: string;
    new_amount?: string;
    final?: boolean;
    reason?: string;
  };
  const details: LedgerEvent['details'] = {};
  if (p.overdraft_limit !== undefined) details.overdraftLimit = BigInt(p.overdraft_limit);
  if (p.order_id !== undefined) details.orderId = p.order_id;
  if (p.expires_at_ms !== undefined) details.expiresAtMs = Number(p.expires_at_ms);
  if (p.new_amount !== undefined) details.newAmount = BigInt(p.new_amount);
  if (p.final !== undefined) details.final = p.final;
  if (p.reason !== undefined) details.reason = p.reason;
  return {
    eventId: row.event_id,
    accountId: row.account_id,
    version: Number(row.version),
    type: row.type as EventType,
    occurredAtMs: Number(row.occurred_ms),
    currency: row.currency,
    amount: BigInt(row.amount),
    balanceAfter: BigInt(row.balance_after),
    heldAfter: BigInt(row.held_after),
    referenceId: row.reference_id,
    reservationId: row.reservation_id,
    counterpartyAccountId: row.counterparty_account_id,
    metadata: row.metadata.client ?? {},
    details,
    traceparent: row.metadata.traceparent ?? '',
    idempotencyKey: row.metadata.idempotency_key ?? '',
  };
}

/** Rows grouped per account, in the order given (by version when read with TestDatabase.events). */
export function byAccount<T extends { account_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const list = out.get(row.account_id) ?? [];
    list.push(row);
    out.set(row.account_id, list);
  }
  return out;
}
