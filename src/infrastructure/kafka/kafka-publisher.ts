import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Producer } from 'kafkajs';
import type { DataSource, QueryRunner } from 'typeorm';
import type { LedgerEvent } from '../../ledger/domain/events';
import { AccountEvent } from '../../generated/ledger/v1/ledger';
import type { ProtoMapper } from '../../ledger/grpc/to-proto';
import { EVENT_COLUMNS, type EventRow, eventOfRow } from '../postgres/event-rows';

/** Postgres advisory lock key of the publisher: one publisher per event store. */
const PUBLISHER_LOCK = 7_320_001;

export interface KafkaPublisherOptions {
  topic: string;
  partitions: number;
  batchMax: number;
  idlePollMs: number;
  retryBackoffMaxMs: number;
}

export interface PublisherObserver {
  produced(count: number, seconds: number): void;
  failure(error: unknown, attempt: number): void;
  backlog(pending: number, oldestAgeSeconds: number): void;
  /** runs one produce request inside a span linked to the calls that made its events */
  traced<T>(events: readonly LedgerEvent[], send: () => Promise<T>): Promise<T>;
}

interface QueuedEvent {
  globalSeq: string;
  event: LedgerEvent;
}

/**
 * The outbox saga's second half: emits stored events to Kafka (idempotent producer, key =
 * account_id so an account's events share a partition, value = the contract's AccountEvent,
 * headers event-id / event-type / traceparent), then removes them from ledger_kafka_queue. A
 * crash between the two re-sends them: at least once, consumers deduplicate on event_id.
 *
 * Per-account order: a batch is taken in store order, and an account's events go out only as a
 * contiguous run that starts right after its last published version; anything else waits for the
 * next round. Kafka down: events wait in Postgres and drain when it is back.
 */
export class KafkaPublisher {
  private running = false;
  private loop: Promise<void> | undefined;
  private lock: QueryRunner | undefined;

  constructor(
    private readonly db: DataSource,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly toProto: ProtoMapper,
    private readonly options: KafkaPublisherOptions,
    private readonly observer: PublisherObserver,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.releaseLock();
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let connected = false;
    while (this.running) {
      try {
        if (!(await this.holdLock())) {
          await sleep(1000);
          continue;
        }
        if (!connected) {
          await this.producer.connect();
          await this.admin.connect();
          await this.ensureTopic();
          connected = true;
        }
        const published = await this.publishOnce();
        failures = 0;
        if (published === 0) await sleep(this.options.idlePollMs);
      } catch (error) {
        failures++;
        this.observer.failure(error, failures);
        await sleep(Math.min(this.options.retryBackoffMaxMs, 50 * 2 ** Math.min(failures, 10)));
      }
    }
  }

  private async holdLock(): Promise<boolean> {
    if (this.lock && !this.lock.isReleased) {
      try {
        await this.lock.query('SELECT 1');
        return true;
      } catch {
        await this.releaseLock();
      }
    }
    const runner = this.db.createQueryRunner();
    await runner.connect();
    const rows = (await runner.query('SELECT pg_try_advisory_lock($1) AS held', [PUBLISHER_LOCK])) as {
      held: boolean;
    }[];
    if (rows[0]?.held) {
      this.lock = runner;
      return true;
    }
    await runner.release();
    return false;
  }

  private async releaseLock(): Promise<void> {
    const runner = this.lock;
    this.lock = undefined;
    if (!runner || runner.isReleased) return;
    await runner.query('SELECT pg_advisory_unlock($1)', [PUBLISHER_LOCK]).catch(() => undefined);
    await runner.release().catch(() => undefined);
  }

  private async ensureTopic(): Promise<void> {
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: this.options.topic, numPartitions: this.options.partitions }],
    });
  }

  /** One round: read a batch, send what may go in order, dequeue it. Returns events sent. */
  async publishOnce(): Promise<number> {
    const queued = await this.nextBatch();
    this.observeBacklog();
    if (queued.length === 0) return 0;
    const sendable = await this.inOrder(queued);
    if (sendable.length === 0) return 0;
    const start = process.hrtime.bigint();
    const events = sendable.map((q) => q.event);
    await this.observer.traced(events, () =>
      this.producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: events.map((event) => ({
          key: event.accountId,
          value: Buffer.from(AccountEvent.encode(this.toProto.event(event)).finish()),
          headers: { 'event-id': event.eventId, 'event-type': event.type, traceparent: event.traceparent },
        })),
      }),
    );
    this.observer.produced(sendable.length, Number(process.hrtime.bigint() - start) / 1e9);
    await this.db.query(`DELETE FROM ledger_kafka_queue WHERE global_seq = ANY($1::bigint[])`, [
      sendable.map((q) => q.globalSeq),
    ]);
    return sendable.length;
  }

  private async nextBatch(): Promise<QueuedEvent[]> {
    const rows = (await this.db.query(
      `SELECT ${EVENT_COLUMNS.split(', ')
        .map((c) => `e.${c}`)
        .join(', ')}
         FROM ledger_kafka_queue q JOIN ledger_events e ON e.global_seq = q.global_seq
        ORDER BY q.global_seq LIMIT $1`,
      [this.options.batchMax],
    )) as EventRow[];
    return rows.map((row) => ({ globalSeq: row.global_seq, event: eventOfRow(row) }));
  }

  /**
   * Keeps, per account, the run of consecutive versions that starts at the account's lowest
   * queued version, and only if the version before it is already out (not queued, and stored).
   */
  private async inOrder(queued: QueuedEvent[]): Promise<QueuedEvent[]> {
    const accounts = [...new Set(queued.map((q) => q.event.accountId))];
    const lows = (await this.db.query(
      `SELECT l.account_id, l.low,
              (l.low = 1 OR EXISTS (SELECT 1 FROM ledger_events p WHERE p.account_id = l.account_id AND p.version = l.low - 1)) AS ready
         FROM (SELECT account_id, min(version) AS low FROM ledger_kafka_queue
                WHERE account_id = ANY($1) GROUP BY account_id) l`,
      [accounts],
    )) as { account_id: string; low: string; ready: boolean }[];
    const next = new Map<string, number>();
    for (const row of lows) if (row.ready) next.set(row.account_id, Number(row.low));
    const sorted = [...queued].sort(
      (a, b) =>
        (a.event.accountId < b.event.accountId ? -1 : a.event.accountId > b.event.accountId ? 1 : 0) ||
        a.event.version - b.event.version,
    );
    const sendable: QueuedEvent[] = [];
    for (const q of sorted) {
      const want = next.get(q.event.accountId);
      if (want === undefined || q.event.version !== want) {
        next.delete(q.event.accountId);
        continue;
      }
      sendable.push(q);
      next.set(q.event.accountId, want + 1);
    }
    // Send in store order; an account's own events stay in version order within it.
    return sendable.sort((a, b) => Number(BigInt(a.globalSeq) - BigInt(b.globalSeq)));
  }

  private lastBacklogMs = 0;

  /** At most once a second: counting the queue is not free when it is long. */
  private observeBacklog(): void {
    const now = Date.now();
    if (now - this.lastBacklogMs < 1000) return;
    this.lastBacklogMs = now;
    void this.db
      .query(
        `SELECT count(*) AS n,
                extract(epoch FROM now() - (SELECT e.recorded_at FROM ledger_kafka_queue q
                                              JOIN ledger_events e ON e.global_seq = q.global_seq
                                             ORDER BY q.global_seq LIMIT 1)) AS age
           FROM ledger_kafka_queue`,
      )
      .then((rows: { n: string; age: string | null }[]) =>
        this.observer.backlog(Number(rows[0]?.n ?? 0), Number(rows[0]?.age ?? 0)),
      )
      .catch(() => undefined);
  }
}
