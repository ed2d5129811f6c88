import type { Pool, PoolClient } from 'pg';
import type { LedgerEvent } from '../../ledger/domain/events';
import { EVENT_COLUMNS, type EventRow, eventOfRow } from '../postgres/event-rows';

/** Postgres advisory lock key of the publisher: one publisher per event store. */
export const PUBLISHER_LOCK = 7_320_001;

const MAX_SEQ = '9223372036854775807';

export interface PublishableEvent {
  /** ledger_events.global_seq */
  seq: number;
  event: LedgerEvent;
}

function sequence(text: string): number {
  const seq = Number(text);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`global_seq ${text} is not a safe integer`);
  return seq;
}

/**
 * The publisher's Postgres connection. It holds the session advisory lock that makes this process
 * the event store's only publisher, and every statement of the publisher runs on it: if the
 * connection is lost, so is the lock, and the publisher learns it at its next statement (`lost`)
 * instead of writing a watermark another publisher owns.
 */
export class PublisherLock {
  private broken: Error | undefined;
  /** a connection that drops while idle reports it here, not as an unhandled 'error' event */
  private readonly onError = (error: Error): void => {
    this.broken = error;
  };

  private constructor(private readonly client: PoolClient) {
    client.on('error', this.onError);
  }

  /** The lock, or undefined when another process holds it. */
  static async acquire(pool: Pool): Promise<PublisherLock | undefined> {
    const client = await pool.connect();
    const onError = (): void => undefined; // reported by the query below
    client.on('error', onError);
    let held: boolean;
    try {
      const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1) AS held', [
        PUBLISHER_LOCK,
      ]);
      held = rows[0]?.held === true;
    } catch (error) {
      client.removeListener('error', onError);
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    client.removeListener('error', onError);
    if (held) return new PublisherLock(client);
    client.release();
    return undefined;
  }

  /** A statement failed: the connection (and the lock with it) may be gone; release and take it again. */
  get lost(): boolean {
    return this.broken !== undefined;
  }

  /**
   * The watermark: every event with global_seq <= it has been acknowledged by Kafka; a publisher
   * starts after it. Why a single number cannot skip an event: global_seq is drawn only by the
   * relay's batch transactions, each holding the append lock from before it draws a value until
   * it commits, with the sequence handing out values in the order asked (CACHE 1); the lock
   * intervals are disjoint, so a transaction that drew a smaller value ended before any that
   * drew a larger one began. Once an event with global_seq s is visible, no event with a smaller
   * global_seq can commit any more, and "global_seq > watermark" misses nothing, even with two
   * relays running for a moment (see CommittedBatch in postgres/batch-append.ts). No other
   * statement inserts into ledger_events: conflicts go to ledger_event_conflicts, rebuilds and
   * transfers only read it or go through the outbox.
   */
  async watermark(): Promise<number> {
    const { rows } = await this.run(() =>
      this.client.query<{ seq: string }>('SELECT published_seq::text AS seq FROM ledger_kafka_watermark'),
    );
    const row = rows[0];
    if (!row) throw new Error('ledger_kafka_watermark is empty: run the migrations (npm run migrate)');
    return sequence(row.seq);
  }

  /**
   * Stored events with afterSeq < global_seq <= upToSeq (no upper bound if undefined), in
   * global_seq order (each account's version order), at most `limit`.
   */
  async eventsAfter(afterSeq: number, upToSeq: number | undefined, limit: number): Promise<PublishableEvent[]> {
    const { rows } = await this.run(() =>
      this.client.query<EventRow>({
        name: 'ledger_publisher_events_after',
        text: `SELECT ${EVENT_COLUMNS} FROM ledger_events
                WHERE global_seq > $1 AND global_seq <= $2 ORDER BY global_seq LIMIT $3`,
        values: [afterSeq, upToSeq ?? MAX_SEQ, limit],
      }),
    );
    return rows.map((row) => ({ seq: sequence(row.global_seq), event: eventOfRow(row) }));
  }

  /** One write per published batch; never moves the watermark back. */
  async saveWatermark(seq: number): Promise<void> {
    await this.run(() =>
      this.client.query({
        name: 'ledger_publisher_save_watermark',
        text: `UPDATE ledger_kafka_watermark SET published_seq = $1, updated_at = now() WHERE published_seq < $1`,
        values: [seq],
      }),
    );
  }

  async release(): Promise<void> {
    if (!this.broken) {
      await this.client.query('SELECT pg_advisory_unlock($1)', [PUBLISHER_LOCK]).catch((error: unknown) => {
        this.broken = error instanceof Error ? error : new Error(String(error));
      });
    }
    // A broken connection is closed rather than pooled: closing it releases the lock server-side.
    this.client.removeListener('error', this.onError);
    this.client.release(this.broken);
  }

  private async run<T>(statement: () => Promise<T>): Promise<T> {
    if (this.broken) throw this.broken;
    try {
      return await statement();
    } catch (error) {
      this.broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }
}
