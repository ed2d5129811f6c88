import { execFileSync } from 'node:child_process';
import { type RunningLedger, startLedger } from '../support/ledger-app';
import { load } from './support/mixed-load';
import { PrivateStack } from './support/private-stack';
import { type PromSample, TestPrometheus } from './support/prometheus';
import { toolPath, waitFor } from './support/tools';

jest.setTimeout(120_000);

const GRPC = ['grpc_service', 'grpc_method', 'grpc_type'];

/**
 * Every metric family the service exposes and the labels each must carry, no more, no less.
 * Written out here rather than read from src/ so that a renamed metric or label shows up.
 */
const FAMILIES: Record<string, string[]> = {
  // gRPC server
  grpc_server_started_total: GRPC,
  grpc_server_handled_total: [...GRPC, 'grpc_code'],
  grpc_server_handling_seconds_bucket: [...GRPC, 'le'],
  grpc_server_handling_seconds_sum: GRPC,
  grpc_server_handling_seconds_count: GRPC,
  grpc_server_in_flight_requests: GRPC,
  grpc_server_handling_max_seconds: GRPC,
  // domain steps
  ledger_command_step_seconds_bucket: ['command', 'step', 'le'],
  ledger_command_step_seconds_count: ['command', 'step'],
  // business
  ledger_operations_total: ['operation', 'result'],
  ledger_rejects_total: ['operation', 'reason'],
  ledger_idempotent_replays_total: ['operation'],
  ledger_active_reservations_with_expiry: [],
  ledger_reservation_expiries_total: [],
  ledger_expiry_sweep_failures_total: [],
  // Redis
  ledger_redis_script_seconds_bucket: ['script', 'le'],
  ledger_redis_script_seconds_count: ['script'],
  ledger_redis_script_failures_total: ['script', 'kind', 'reason'],
  ledger_redis_noscript_reloads_total: ['script'],
  ledger_redis_connection_state: ['state'],
  ledger_redis_reconnects_total: [],
  ledger_redis_command_queue_depth: [],
  ledger_redis_server_cpu_seconds_total: ['mode'],
  // outbox (the Redis side, sampled from the streams)
  ledger_outbox_pending_events: ['store'],
  ledger_outbox_oldest_unpublished_seconds: ['store'],
  // event store, relay, Kafka, acks
  ledger_pg_query_seconds_bucket: ['operation', 'le'],
  ledger_pg_query_seconds_count: ['operation'],
  ledger_pg_query_errors_total: ['operation'],
  ledger_pg_pool_connections: ['state'],
  ledger_pg_pool_waiting_clients: [],
  ledger_pg_lock_waits: [],
  ledger_relay_batch_size_bucket: ['le'],
  ledger_relay_batch_seconds_bucket: ['le'],
  ledger_relay_batch_failures_total: [],
  ledger_kafka_produce_seconds_bucket: ['le'],
  ledger_kafka_produce_errors_total: [],
  ledger_kafka_produced_events_total: [],
  ledger_ack_wait_seconds_bucket: ['mode', 'le'],
  ledger_ack_wait_seconds_count: ['mode'],
  // Node runtime (prom-client defaults)
  process_cpu_seconds_total: [],
  process_resident_memory_bytes: [],
  nodejs_heap_size_used_bytes: [],
  nodejs_heap_size_total_bytes: [],
  nodejs_eventloop_lag_seconds: [],
  nodejs_eventloop_lag_p99_seconds: [],
  nodejs_gc_duration_seconds_bucket: ['kind', 'le'],
};

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['__name__', 'job', 'instance']);

describe('observability: a real Prometheus scrapes the service under load', () => {
  let stack: PrivateStack;
  let ledger: RunningLedger;
  let prometheus: TestPrometheus;
  let metricsText: string;

  beforeAll(async () => {
    stack = await PrivateStack.start();
    ledger = await startLedger({ ...stack.env(), LEDGER_EXPIRY_SWEEP_INTERVAL_MS: '100' });
    prometheus = await TestPrometheus.start([new URL(ledger.httpUrl).host]);
    await waitFor('first scrape', async () => {
      const targets = await prometheus.targets();
      return targets.length === 1 && targets[0]!.health === 'up' ? true : undefined;
    });
    await load(ledger, stack.redis);
    // The relay and the publisher follow the calls asynchronously: wait until Kafka has the events.
    await waitFor(
      'events published to Kafka',
      async () => (/^ledger_kafka_produced_events_total [1-9]/m.test(await metrics()) ? true : undefined),
      30_000,
      250,
    );
    // Every query reads one successful scrape taken after all of that.
    await prometheus.pinToGoodScrape(Date.now());
    metricsText = await metrics();
  });

  afterAll(async () => {
    await prometheus?.stop();
    await ledger?.close();
    await stack?.stop();
  });

  it('scrapes the service', async () => {
    const up = await prometheus.query('up');
    expect(up.map((sample) => [sample.metric['job'], sample.value[1]])).toEqual([['ledger', '1']]);
  });

  it.each(Object.entries(FAMILIES))('%s has samples with exactly the labels %j', async (name, labels) => {
    const samples = await prometheus.query(name);
    expect(samples.length).toBeGreaterThan(0);
    for (const sample of samples) {
      const own = Object.keys(sample.metric)
        .filter((l) => !TARGET_LABELS.has(l))
        .sort();
      expect(own).toEqual([...labels].sort());
      expect(Number.isNaN(Number(sample.value[1]))).toBe(false);
    }
  });

  it('histogram_quantile(0.99) of the gRPC handling histogram is a number', async () => {
    const [p99] = await prometheus.query(
      'histogram_quantile(0.99, sum by (le) (rate(grpc_server_handling_seconds_bucket{grpc_method="Reserve"}[1m])))',
    );
    const value = Number(p99?.value[1]);
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThan(10);
    const [max] = await prometheus.query('max(grpc_server_handling_max_seconds{grpc_method="Reserve"})');
    expect(Number(max?.value[1])).toBeGreaterThanOrEqual(value / 2);
  });

  it('tells calls apart by gRPC code and business result', async () => {
    expect(await values('grpc_server_started_total{grpc_service="ledger.v1.LedgerService"}', 'grpc_type')).toEqual(
      expect.arrayContaining(['unary']),
    );
    expect(await values('count by (grpc_type) (grpc_server_started_total)', 'grpc_type')).toEqual(['unary']);
    expect(await values('grpc_server_handled_total{grpc_method="Reserve"}', 'grpc_code')).toEqual(
      expect.arrayContaining(['OK', 'FailedPrecondition', 'InvalidArgument', 'Unavailable']),
    );
    expect(await values('ledger_operations_total{operation="Reserve"}', 'result')).toEqual(
      expect.arrayContaining(['ok', 'replayed', 'rejected', 'error']),
    );
    expect(await values('ledger_rejects_total{operation="Reserve"}', 'reason')).toEqual(
      expect.arrayContaining(['INSUFFICIENT_FUNDS', 'INVALID_ARGUMENT']),
    );
    expect(await scalar('ledger_idempotent_replays_total{operation="Reserve"}')).toBeGreaterThan(0);
    const started = await scalar('sum(grpc_server_started_total{grpc_method="Reserve"})');
    const handled = await scalar('sum(grpc_server_handled_total{grpc_method="Reserve"})');
    expect(handled).toBe(started);
    expect(await scalar('sum(grpc_server_in_flight_requests)')).toBe(0);
  });

  it('times every step of ReserveFunds', async () => {
    expect(await values('ledger_command_step_seconds_count{command="ReserveFunds"}', 'step')).toEqual(
      expect.arrayContaining(['validate', 'parse-money', 'format-keys', 'repository', 'to-response']),
    );
  });

  it('sees Redis: scripts, rejects apart from errors, NOSCRIPT reloads, connection, server CPU', async () => {
    expect(await values('ledger_redis_script_seconds_count', 'script')).toEqual(
      expect.arrayContaining(['reserve', 'deposit', 'commit_reservation', 'expire_reservation']),
    );
    expect(await values('sum by (kind) (ledger_redis_script_failures_total)', 'kind')).toEqual(
      expect.arrayContaining(['reject', 'error']),
    );
    expect(await values('ledger_redis_script_failures_total{kind="reject"}', 'reason')).toContain('INSUFFICIENT_FUNDS');
    expect(await values('ledger_redis_script_failures_total{kind="error"}', 'reason')).toContain('connection');
    expect(await scalar('sum(ledger_redis_noscript_reloads_total)')).toBeGreaterThan(0);
    expect(await scalar('ledger_redis_reconnects_total')).toBeGreaterThan(0);
    expect(await scalar('ledger_redis_connection_state{state="ready"}')).toBe(1);
    expect(await scalar('sum(ledger_redis_connection_state)')).toBe(1);
    expect(await scalar('sum(ledger_redis_server_cpu_seconds_total)')).toBeGreaterThan(0);
  });

  it('sees the business: expiries and active reservations', async () => {
    expect(await scalar('ledger_reservation_expiries_total')).toBeGreaterThan(0);
    expect(await scalar('ledger_active_reservations_with_expiry')).toBeGreaterThan(0);
    expect(await values('ledger_outbox_pending_events', 'store')).toContain('redis');
  });

  it('sees the event store: queries, pool, relay batches, Kafka, durable acks, both backlogs', async () => {
    expect(await scalar('sum(ledger_pg_query_seconds_count)')).toBeGreaterThan(0);
    expect(await values('ledger_pg_pool_connections', 'state')).toEqual(expect.arrayContaining(['idle', 'active']));
    expect(await scalar('sum(ledger_pg_pool_connections)')).toBeGreaterThan(0);
    expect(await scalar('ledger_relay_batch_size_count')).toBeGreaterThan(0);
    expect(await scalar('ledger_relay_batch_size_sum')).toBeGreaterThan(0);
    expect(await scalar('ledger_relay_batch_seconds_count')).toBeGreaterThan(0);
    expect(await scalar('ledger_kafka_produced_events_total')).toBeGreaterThan(0);
    expect(await scalar('ledger_kafka_produce_seconds_count')).toBeGreaterThan(0);
    expect(await scalar('ledger_ack_wait_seconds_count{mode="durable"}')).toBeGreaterThan(0);
    expect(await values('ledger_outbox_pending_events', 'store')).toEqual(
      expect.arrayContaining(['redis', 'postgres']),
    );
    expect(await values('ledger_outbox_oldest_unpublished_seconds', 'store')).toEqual(
      expect.arrayContaining(['redis', 'postgres']),
    );
  });

  it('keeps account, reservation and transaction ids out of labels', () => {
    expect(metricsText).not.toMatch(/prom-(acct|res|tx)-/);
  });

  it('passes promtool check metrics', () => {
    const promtool = toolPath('promtool');
    let output: string;
    try {
      output = execFileSync(promtool, ['check', 'metrics'], { input: metricsText, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { status: number; stdout: string; stderr: string };
      throw new Error(`promtool check metrics exited ${e.status}:\n${e.stdout}${e.stderr}`, { cause: error });
    }
    expect(output.trim()).toBe('');
  });

  async function metrics(): Promise<string> {
    return (await fetch(`${ledger.httpUrl}/metrics`)).text();
  }

  async function values(expr: string, label: string): Promise<string[]> {
    return (await prometheus.query(expr)).map((s: PromSample) => s.metric[label] ?? '');
  }

  async function scalar(expr: string): Promise<number> {
    const samples = await prometheus.query(expr);
    if (samples.length !== 1) throw new Error(`${expr}: ${samples.length} samples`);
    return Number(samples[0]!.value[1]);
  }
});
