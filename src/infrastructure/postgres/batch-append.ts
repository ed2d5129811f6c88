import type { Pool, PoolClient } from 'pg';
import { detailsToJson, type OutboxEvent } from '../outbox/outbox-entry';

/**
 * Advisory lock of appends to ledger_events (exclusive): every batch transaction takes it before
 * it draws a global_seq and holds it until it commits or rolls back. Appends are therefore
 * serialized, and global_seq order is commit order: see CommittedBatch.
 */
export const APPEND_LOCK = 7_320_003;

/** Advisory lock namespace of account histories (shared here, exclusive for a rebuild: withAccountLock). */
export const ACCOUNT_LOCK_SPACE = 7_320_002;

/** Thrown by append when the batch's outbox entries vanished from Redis before it was stored. */
export class OutboxBatchLostError extends Error {
  constructor() {
    super('the batch vanished from Redis (data lost) before it was stored; not storing it');
    this.name = 'OutboxBatchLostError';
  }
}

export interface SequencedEvent {
  /** ledger_events.global_seq */
  seq: number;
  event: OutboxEvent;
}

/**
 * What one batch transaction committed, for the Kafka publisher. Every append holds APPEND_LOCK
 * from before it draws a global_seq until it ends, and the sequence hands out values in the order
 * asked (CACHE 1), so once this batch is committed:
 * - every event with global_seq <= afterSeq was committed before it (afterSeq was read under the
 *   lock, in a statement that started after the lock was granted, so it sees every earlier batch);
 * - the events with afterSeq < global_seq <= lastSeq are exactly `events`;
 * - no event with global_seq <= lastSeq can ever commit later.
 * A publisher that has published up to afterSeq may publish `events` and move to lastSeq.
 */
export interface CommittedBatch {
  afterSeq: number;
  lastSeq: number;
  /** the events this batch inserted, in global_seq order (which is each account's version order) */
  events: SequencedEvent[];
}

export interface AppendResult {
  /** events newly stored by this call */
  inserted: number;
  /** events already stored (a re-delivered outbox entry) */
  duplicates: number;
  /** events whose (account_id, version) was taken by another event id; kept in ledger_event_conflicts */
  conflicts: OutboxEvent[];
  /** events now in Postgres (inserted here or before), in batch order: conflicts excluded */
  stored: OutboxEvent[];
  committed: CommittedBatch;
}

/** Statement 1: the transaction and the append lock, in one round trip (no parameters: simple protocol). */
const BEGIN_AND_LOCK = `BEGIN; SELECT pg_advisory_xact_lock(${APPEND_LOCK})`;

/**
 * Statement 2, prepared once per connection: the batch's account history locks (shared), the
 * highest global_seq stored before it, the events (one multi-row INSERT, in batch order, so that
 * global_seq follows each account's versions) and their idempotency records (one per (key,
 * account), with the last version the call produced there: a final commit writes two events
 * under one key, a transfer one on each of two accounts). A re-delivered event inserts nothing.
 * `history_locks` is joined into the INSERT so that it runs (a CTE nobody reads is skipped).
 */
const APPEND_SQL = `
WITH input AS MATERIALIZED (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                       $8::bigint[], $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::jsonb[], $14::bigint[],
                       $15::text[], $16::text[])
    WITH ORDINALITY AS t(event_id, account_id, version, type, currency, amount, balance_after, held_after,
                         reference_id, reservation_id, counterparty_account_id, payload, metadata, occurred_ms,
                         idempotency_key, request_hash, ord)
), history_locks AS MATERIALIZED (
  SELECT count(pg_advisory_xact_lock_shared(${ACCOUNT_LOCK_SPACE}, hashtext(a.account_id))) AS n
    FROM (SELECT DISTINCT account_id FROM input ORDER BY account_id) a
), prior AS MATERIALIZED (
  SELECT coalesce(max(global_seq), 0) AS seq FROM ledger_events
), stored AS (
  INSERT INTO ledger_events (event_id, account_id, version, type, currency, amount, balance_after, held_after,
                             reference_id, reservation_id, counterparty_account_id, payload, metadata, occurred_at)
  SELECT i.event_id, i.account_id, i.version, i.type, i.currency, i.amount, i.balance_after, i.held_after,
         i.reference_id, i.reservation_id, i.counterparty_account_id, i.payload, i.metadata,
         to_timestamp(i.occurred_ms / 1000.0)
    FROM input i CROSS JOIN history_locks
   ORDER BY i.ord
  ON CONFLICT DO NOTHING
  RETURNING global_seq, event_id
), keyed AS (
  INSERT INTO ledger_idempotency (idempotency_key, account_id, request_hash, version, event_id)
  SELECT DISTINCT ON (i.idempotency_key, i.account_id) i.idempotency_key, i.account_id, i.request_hash, i.version,
         i.event_id
    FROM stored s JOIN input i ON i.event_id = s.event_id
   WHERE i.request_hash <> ''
   ORDER BY i.idempotency_key, i.account_id, i.version DESC
  ON CONFLICT (idempotency_key, account_id) DO UPDATE
    SET version = EXCLUDED.version, event_id = EXCLUDED.event_id
    WHERE ledger_idempotency.version < EXCLUDED.version
)
SELECT p.seq::text AS prior_seq, s.global_seq::text AS global_seq, s.event_id::text AS event_id
  FROM prior p LEFT JOIN stored s ON true
 ORDER BY s.global_seq`;

function columns(events: readonly OutboxEvent[]): unknown[] {
  return [
    events.map((e) => e.eventId),
    events.map((e) => e.accountId),
    events.map((e) => e.version),
    events.map((e) => e.type),
    events.map((e) => e.currency),
    events.map((e) => e.amount.toString()),
    events.map((e) => e.balanceAfter.toString()),
    events.map((e) => e.heldAfter.toString()),
    events.map((e) => e.referenceId),
    events.map((e) => e.reservationId),
    events.map((e) => e.counterpartyAccountId),
    events.map((e) => JSON.stringify(detailsToJson(e.details))),
    events.map((e) =>
      JSON.stringify({ client: e.metadata, traceparent: e.traceparent, idempotency_key: e.idempotencyKey }),
    ),
    events.map((e) => e.occurredAtMs),
    events.map((e) => e.idempotencyKey),
    events.map((e) => e.requestHash),
  ];
}

function sequence(text: string): number {
  const seq = Number(text);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`global_seq ${text} is not a safe integer`);
  return seq;
}

/**
 * The relay's batch transaction on a connection of its own, kept from batch to batch (the
 * statement stays prepared on it, and a pool busy with calls' lookups never makes the relay wait
 * for a connection). A connection that failed is closed and replaced at the next batch.
 */
export class BatchAppender {
  private client: PoolClient | undefined;
  private broken: Error | undefined;
  private readonly onError = (error: Error): void => {
    // The connection dropped between batches (Postgres restarted): replace it at the next one.
    this.broken = error;
  };

  constructor(private readonly pool: () => Pool) {}

  /**
   * Appends a batch in one transaction (the relay's group commit): BEGIN + append lock, one
   * statement for the events and their idempotency records, the Redis check, COMMIT. Three
   * round trips whatever the batch size; a batch with re-delivered or conflicting events adds
   * one or two.
   *
   * `stillInRedis` runs while the batch's account history locks are held, just before COMMIT:
   * if Redis lost its data after the batch was read, an account may already have been rebuilt
   * from the store without these events, and storing them now would fork its history. Those
   * events were never durably acknowledged; they are dropped with the rest of Redis's data
   * (OutboxBatchLostError).
   */
  async append(events: readonly OutboxEvent[], stillInRedis: () => Promise<boolean>): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const client = await this.connection();
    try {
      await client.query(BEGIN_AND_LOCK);
      const { rows } = await client.query<{ prior_seq: string; global_seq: string | null; event_id: string | null }>({
        name: 'ledger_append_batch',
        text: APPEND_SQL,
        values: columns(events),
      });
      const afterSeq = sequence(rows[0]?.prior_seq ?? '0');
      const seqOf = new Map<string, number>();
      for (const row of rows) {
        if (row.global_seq !== null && row.event_id !== null) seqOf.set(row.event_id, sequence(row.global_seq));
      }
      const missing = events.filter((e) => !seqOf.has(e.eventId));
      const conflicts = missing.length > 0 ? await recordConflicts(client, missing) : [];
      if (!(await stillInRedis())) throw new OutboxBatchLostError();
      await client.query('COMMIT');
      return result(events, seqOf, missing.length, conflicts, afterSeq);
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: unknown) => {
        this.broken ??= rollback instanceof Error ? rollback : new Error(String(rollback));
      });
      throw error;
    } finally {
      if (this.broken) this.close();
    }
  }

  /** Gives the connection back (on shutdown). */
  close(): void {
    const client = this.client;
    const broken = this.broken;
    this.client = undefined;
    this.broken = undefined;
    if (!client) return;
    client.removeListener('error', this.onError);
    // A broken connection is destroyed, not pooled again.
    client.release(broken);
  }

  private async connection(): Promise<PoolClient> {
    if (this.broken) this.close();
    if (this.client) return this.client;
    const client = await this.pool().connect();
    client.on('error', this.onError);
    this.client = client;
    return client;
  }
}

function result(
  events: readonly OutboxEvent[],
  seqOf: ReadonlyMap<string, number>,
  missing: number,
  conflicts: OutboxEvent[],
  afterSeq: number,
): AppendResult {
  const inserted: SequencedEvent[] = [];
  for (const event of events) {
    const seq = seqOf.get(event.eventId);
    if (seq !== undefined) inserted.push({ seq, event });
  }
  inserted.sort((a, b) => a.seq - b.seq);
  const conflicted = new Set(conflicts.map((e) => e.eventId));
  return {
    inserted: inserted.length,
    duplicates: missing - conflicts.length,
    conflicts,
    stored: events.filter((e) => !conflicted.has(e.eventId)),
    committed: { afterSeq, lastSeq: inserted.at(-1)?.seq ?? afterSeq, events: inserted },
  };
}

/**
 * Of the events the INSERT skipped, those whose event id is not stored either lost their
 * (account_id, version) to another event: kept in ledger_event_conflicts (never dropped silently).
 */
async function recordConflicts(client: PoolClient, missing: readonly OutboxEvent[]): Promise<OutboxEvent[]> {
  const { rows } = await client.query<{ event_id: string }>(
    `SELECT event_id::text FROM ledger_events WHERE event_id = ANY($1::uuid[])`,
    [missing.map((e) => e.eventId)],
  );
  const present = new Set(rows.map((r) => r.event_id));
  const conflicts = missing.filter((e) => !present.has(e.eventId));
  if (conflicts.length === 0) return [];
  await client.query(
    `INSERT INTO ledger_event_conflicts (event_id, account_id, version, entry)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::jsonb[]) ON CONFLICT DO NOTHING`,
    [
      conflicts.map((e) => e.eventId),
      conflicts.map((e) => e.accountId),
      conflicts.map((e) => e.version),
      conflicts.map((e) =>
        JSON.stringify({
          ...e,
          amount: `${e.amount}`,
          balanceAfter: `${e.balanceAfter}`,
          heldAfter: `${e.heldAfter}`,
          details: detailsToJson(e.details),
        }),
      ),
    ],
  );
  return conflicts;
}
