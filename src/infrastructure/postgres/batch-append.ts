import type { Pool, PoolClient, QueryResult } from 'pg';
import { detailsToJson, type OutboxEvent } from '../outbox/outbox-entry';
import { APPEND_PREPARE, beginLockAndAppend } from './append-statement';

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

interface AppendRow {
  prior_seq: string;
  global_seq: string | null;
  event_id: string | null;
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
   * Appends a batch in one transaction (the relay's group commit): BEGIN + append lock + one
   * statement for the events and their idempotency records (one message), the Redis check,
   * COMMIT. Two Postgres round trips whatever the batch size; a batch with re-delivered or
   * conflicting events adds one or two.
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
      // Several statements in one query: pg answers with one result per statement.
      const results = (await client.query(beginLockAndAppend(events))) as unknown as QueryResult<AppendRow>[];
      const rows = results[results.length - 1]?.rows ?? [];
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
    try {
      await client.query(APPEND_PREPARE);
    } catch (error) {
      // Prepared already: an appender of this process had this pooled connection before (the
      // relay stopped and started again); the statement is the same.
      if (!isDuplicatePreparedStatement(error)) {
        client.removeListener('error', this.onError);
        client.release(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    }
    this.client = client;
    return client;
  }
}

/** SQLSTATE 42P05: a prepared statement of that name exists on the connection. */
function isDuplicatePreparedStatement(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '42P05';
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
