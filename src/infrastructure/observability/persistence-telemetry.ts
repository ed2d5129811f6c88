/**
 * Telemetry for the event store, the outbox relay, the Kafka publisher and durable acks, for
 * code that should not import prom-client or OpenTelemetry itself. Both classes are global
 * providers of ObservabilityModule: inject them (constructor parameter of that type).
 *
 *   PostgresTelemetry
 *     time(operation, fn)              runs fn (a statement), records ledger_pg_query_seconds{operation}
 *                                      and, if it throws, ledger_pg_query_errors_total{operation}
 *     query(operation, seconds, ok?)   the same, for a duration measured by the caller
 *     setPool(total, idle, waiting)    ledger_pg_pool_connections{state=idle|active}, ledger_pg_pool_waiting_clients
 *     samplePool(() => ({ total, idle, waiting }))   the same, read at each scrape (e.g. from a pg.Pool:
 *                                      totalCount, idleCount, waitingCount)
 *     setLockWaits(n)                  ledger_pg_lock_waits
 *     sampleLockWaits(() => Promise<number>)   the same, read at each scrape; LOCK_WAITS_SQL counts them
 *
 *   OutboxTelemetry
 *     relayBatch(size, seconds, ok?)   ledger_relay_batch_size, ledger_relay_batch_seconds
 *                                      (the Postgres transaction), ledger_relay_batch_failures_total
 *     setPending('postgres', n)        ledger_outbox_pending_events{store}: stored, not yet published
 *                                      (store "redis" is sampled by RedisTelemetry from the streams)
 *     samplePending('postgres', () => Promise<number>)   the same, read at each scrape
 *     setOldestUnpublishedAge(seconds, store = 'postgres')   ledger_outbox_oldest_unpublished_seconds{store}
 *     sampleOldestUnpublishedAge(() => Promise<number>, store = 'postgres')
 *     kafkaProduce(seconds, ok, events = 1)   ledger_kafka_produce_seconds, ledger_kafka_produce_errors_total,
 *                                      ledger_kafka_produced_events_total
 *     ackWait(mode, seconds)           ledger_ack_wait_seconds{mode=fast|durable}
 *     durableAck(events, wait)         runs one call's durable wait inside span 'durable-ack' (a child
 *                                      of the command span, under a sampled call only), linked to the
 *                                      relay batch spans `wait` reports (their W3C traceparents)
 *     withLinkedSpan(name, traceparents, fn, attributes?, parent?)   a span linked to the calls that
 *                                      produced the batch (their stored W3C traceparents), e.g.
 *                                      'relay.pg.insert' and 'kafka.produce <topic>' (the latter a child
 *                                      of its relay batch's span: `parent`, a traceparent)
 *     traceparentOf(span)              what a span linked to later is named by ("" if not recorded)
 *
 * Label values must come from a small fixed set (e.g. operation 'insert_events',
 * 'select_unpublished'); past MAX_OPERATIONS distinct operations, new ones are counted as "other".
 * Samplers that throw leave the previous value. Statements timed inside a command's repository
 * step are excluded from that command's "format-keys" step.
 */
import { performance } from 'node:perf_hooks';
import { type Attributes, INVALID_SPAN_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { LedgerMetrics } from './ledger-metrics';
import { isFault, noteRemoteCall, noteRemoteCallEnd, noteRemoteCallStart, reasonOf } from './timed-steps';
import { linksOf, recordFailure, traceparentOf, type Tracing, withLinkedSpan } from './tracing';

export const MAX_OPERATIONS = 32;

/** Sessions of the current database waiting for a lock (a number in column "waiting"). */
export const LOCK_WAITS_SQL = `
  SELECT count(*)::int AS waiting
  FROM pg_stat_activity a
  JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
  WHERE a.datname = current_database()`;

export type OutboxStore = 'redis' | 'postgres';
export type AckMode = 'fast' | 'durable';

export interface PoolState {
  total: number;
  idle: number;
  waiting: number;
}

export class PostgresTelemetry {
  private readonly operations = new Set<string>();

  constructor(private readonly metrics: LedgerMetrics) {}

  private operation(name: string): string {
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATIONS) return 'other';
    this.operations.add(name);
    // Errors start at 0, so that rate() and alerts see the series before the first failure.
    this.metrics.pgQueryErrors.labels(name).inc(0);
    return name;
  }

  query(operation: string, seconds: number, ok = true): void {
    const end = performance.now();
    noteRemoteCall(end - seconds * 1000, end);
    this.record(operation, seconds, ok);
  }

  private record(operation: string, seconds: number, ok: boolean): void {
    const label = this.operation(operation);
    this.metrics.pgQuerySeconds.labels(label).observe(seconds);
    if (!ok) this.metrics.pgQueryErrors.labels(label).inc();
  }

  async time<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    noteRemoteCallStart(start);
    let ok = false;
    try {
      const result = await fn();
      ok = true;
      return result;
    } finally {
      const end = performance.now();
      noteRemoteCallEnd(end);
      this.record(operation, (end - start) / 1000, ok);
    }
  }

  setPool(total: number, idle: number, waiting: number): void {
    this.metrics.pgPoolConnections.set({ state: 'idle' }, idle);
    this.metrics.pgPoolConnections.set({ state: 'active' }, Math.max(0, total - idle));
    this.metrics.pgPoolWaiting.set(waiting);
  }

  samplePool(read: () => PoolState): void {
    this.metrics.addSampler(this.metrics.pgPoolConnections, () => {
      const pool = read();
      this.setPool(pool.total, pool.idle, pool.waiting);
    });
  }

  setLockWaits(n: number): void {
    this.metrics.pgLockWaits.set(n);
  }

  sampleLockWaits(read: () => Promise<number>): void {
    this.metrics.addSampler(this.metrics.pgLockWaits, async () => this.setLockWaits(await read()));
  }
}

export class OutboxTelemetry {
  constructor(
    private readonly metrics: LedgerMetrics,
    private readonly tracing: Tracing,
  ) {}

  relayBatch(size: number, seconds: number, ok = true): void {
    this.metrics.relayBatchSize.observe(size);
    this.metrics.relayBatchSeconds.observe(seconds);
    if (!ok) this.metrics.relayBatchFailures.inc();
  }

  setPending(store: OutboxStore, n: number): void {
    this.metrics.outboxPending.set({ store }, n);
  }

  samplePending(store: OutboxStore, read: () => Promise<number>): void {
    this.metrics.addSampler(this.metrics.outboxPending, async () => this.setPending(store, await read()));
  }

  setOldestUnpublishedAge(seconds: number, store: OutboxStore = 'postgres'): void {
    this.metrics.outboxOldestSeconds.set({ store }, Math.max(0, seconds));
  }

  sampleOldestUnpublishedAge(read: () => Promise<number>, store: OutboxStore = 'postgres'): void {
    this.metrics.addSampler(this.metrics.outboxOldestSeconds, async () =>
      this.setOldestUnpublishedAge(await read(), store),
    );
  }

  kafkaProduce(seconds: number, ok: boolean, events = 1): void {
    this.metrics.kafkaProduceSeconds.observe(seconds);
    if (ok) this.metrics.kafkaProducedEvents.inc(events);
    else this.metrics.kafkaProduceErrors.inc();
  }

  ackWait(mode: AckMode, seconds: number): void {
    this.metrics.ackWaitSeconds.labels(mode).observe(seconds);
  }

  /**
   * The durable-ack wait of one call as span 'durable-ack' under the command span, linked to the
   * relay batch span(s) that committed its events: a slow durable call shows where it waited (a
   * batch that started late, or a long transaction, in the linked trace). Attributes:
   * ledger.ack.events, ledger.ack.via (stored: reported before the call waited; notified: by the
   * relay's report; polled: found by asking Postgres), ledger.ack.batches.
   */
  async durableAck<T extends { batches: readonly string[]; via: string }>(
    events: number,
    wait: () => Promise<T>,
  ): Promise<T> {
    if (!this.tracing.parentIfRecording()) return wait();
    const span = this.tracing.tracer.startSpan('durable-ack', {
      kind: SpanKind.INTERNAL,
      attributes: { 'ledger.ack.mode': 'durable', 'ledger.ack.events': events },
    });
    try {
      const result = await wait();
      span.addLinks(linksOf(result.batches));
      span.setAttributes({ 'ledger.ack.via': result.via, 'ledger.ack.batches': result.batches.length });
      span.end();
      return result;
    } catch (error) {
      recordFailure(span, reasonOf(error), error, isFault(error));
      span.end();
      throw error;
    }
  }

  /** The W3C traceparent of a span, for spans made later to link to it ("" if it is not recorded). */
  traceparentOf(span: Span): string {
    return traceparentOf(span);
  }

  withLinkedSpan<T>(
    name: string,
    traceparents: readonly string[],
    fn: (span: Span) => Promise<T>,
    attributes?: Attributes,
    parent?: string,
  ): Promise<T> {
    if (!this.tracing.enabled) return fn(NON_RECORDING);
    return withLinkedSpan(name, traceparents, fn, { attributes, tracer: this.tracing.tracer, parent });
  }
}

/** Handed to `fn` when tracing is off, so callers need no branch of their own. */
const NON_RECORDING: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
