import { Counter, Gauge, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics';
import {
  BATCH_SIZE_BUCKETS,
  GRPC_SECONDS_BUCKETS,
  IO_SECONDS_BUCKETS,
  REDIS_SECONDS_BUCKETS,
  STEP_SECONDS_BUCKETS,
} from './metric-buckets';
import { MetricSamplers, type Sampler } from './metric-samplers';
import { collectNodeRuntimeMetrics } from './node-runtime-metrics';

/**
 * Every Prometheus metric family of the service, in one registry per application (so that tests
 * may boot several apps in one process), served on the HTTP port's /metrics.
 *
 * Conventions: grpc-ecosystem names for the gRPC server, `ledger_` for the rest, seconds as the
 * unit, counters end in `_total`, and no label takes an unbounded value (no account, reservation
 * or transaction ids). The README's Observability section lists them all. Histograms and
 * counters recorded per call are FastHistogram/FastCounter (same exposition, cheaper per sample);
 * gauges and the sampled counter are prom-client's own.
 */

const GRPC_LABELS = ['grpc_service', 'grpc_method', 'grpc_type'] as const;

export class LedgerMetrics {
  readonly registry = new Registry();
  private readonly samplers = new MetricSamplers();

  /** Runs `sampler` each time the metric is collected (prom-client calls a metric's collect before reading it). */
  addSampler(metric: object, sampler: Sampler): void {
    this.samplers.add(metric, sampler);
  }

  // gRPC server (grpc-ecosystem/go-grpc-middleware names)
  readonly grpcStarted = new FastCounter({
    name: 'grpc_server_started_total',
    help: 'RPCs started on the server.',
    labelNames: GRPC_LABELS,
    registers: [this.registry],
  });
  readonly grpcHandled = new FastCounter({
    name: 'grpc_server_handled_total',
    help: 'RPCs completed on the server, by gRPC status code (Go spelling: OK, FailedPrecondition, Unavailable, ...).',
    labelNames: [...GRPC_LABELS, 'grpc_code'],
    registers: [this.registry],
  });
  readonly grpcHandlingSeconds = new FastHistogram({
    name: 'grpc_server_handling_seconds',
    help: 'Time from the call reaching the service until its reply or status, in seconds.',
    labelNames: GRPC_LABELS,
    buckets: GRPC_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly grpcInFlight = new Gauge({
    name: 'grpc_server_in_flight_requests',
    help: 'RPCs being handled right now.',
    labelNames: GRPC_LABELS,
    collect: this.samplers.collect((): object => this.grpcInFlight),
    registers: [this.registry],
  });
  readonly grpcHandlingMax = new Gauge({
    name: 'grpc_server_handling_max_seconds',
    help: 'Longest handling time of one RPC over the last 60 s, in seconds.',
    labelNames: GRPC_LABELS,
    collect: this.samplers.collect((): object => this.grpcHandlingMax),
    registers: [this.registry],
  });

  // Domain steps of each command
  readonly commandStepSeconds = new FastHistogram({
    name: 'ledger_command_step_seconds',
    help: 'Time of one step of a command (validate, parse-money, format-keys, repository, to-response), in seconds.',
    labelNames: ['command', 'step'],
    buckets: STEP_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  // Business
  readonly operations = new FastCounter({
    name: 'ledger_operations_total',
    help: 'Ledger operations by RPC and result (ok, replayed, rejected, error).',
    labelNames: ['operation', 'result'],
    registers: [this.registry],
  });
  readonly rejects = new FastCounter({
    name: 'ledger_rejects_total',
    help: 'Operations refused by a business rule, by reason (the contract ErrorReason).',
    labelNames: ['operation', 'reason'],
    registers: [this.registry],
  });
  readonly replays = new FastCounter({
    name: 'ledger_idempotent_replays_total',
    help: 'Operations answered from the idempotency record of an earlier identical call.',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly activeReservations = new Gauge({
    name: 'ledger_active_reservations_with_expiry',
    help: 'Active reservations that carry a TTL (sum of the buckets expiry indexes, sampled at scrape).',
    collect: this.samplers.collect((): object => this.activeReservations),
    registers: [this.registry],
  });
  readonly expiries = new FastCounter({
    name: 'ledger_reservation_expiries_total',
    help: 'Reservations released by the expiry sweeper because their TTL passed.',
    registers: [this.registry],
  });
  readonly expirySweepFailures = new FastCounter({
    name: 'ledger_expiry_sweep_failures_total',
    help: 'Expiry sweeps that failed (Redis unreachable or a script error).',
    registers: [this.registry],
  });

  // Redis
  readonly redisScriptSeconds = new FastHistogram({
    name: 'ledger_redis_script_seconds',
    help: 'Round trip of one EVALSHA (a NOSCRIPT reload included), by script, in seconds.',
    labelNames: ['script'],
    buckets: REDIS_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly redisScriptFailures = new FastCounter({
    name: 'ledger_redis_script_failures_total',
    help: 'Scripts that did not apply: kind="reject" for a business reject (reason = ErrorReason), kind="error" for a fault (timeout, connection, unavailable, script_error, other).',
    labelNames: ['script', 'kind', 'reason'],
    registers: [this.registry],
  });
  readonly redisNoscriptReloads = new FastCounter({
    name: 'ledger_redis_noscript_reloads_total',
    help: 'EVALSHA answered NOSCRIPT (Redis restarted or flushed its scripts), so the script was loaded again.',
    labelNames: ['script'],
    registers: [this.registry],
  });
  readonly idFilterStoreLookups = new FastCounter({
    name: 'ledger_id_filter_store_lookups_total',
    help: 'Calls whose id the Redis id filter could not rule out (seen before, a false positive, or the filter not rebuilt yet), so the event store was asked.',
    labelNames: ['script'],
    registers: [this.registry],
  });
  readonly redisConnectionState = new Gauge({
    name: 'ledger_redis_connection_state',
    help: 'State of the hot-path Redis connection: 1 for the current state, 0 for the others.',
    labelNames: ['state'],
    collect: this.samplers.collect((): object => this.redisConnectionState),
    registers: [this.registry],
  });
  readonly redisReconnects = new FastCounter({
    name: 'ledger_redis_reconnects_total',
    help: 'Reconnection attempts of the hot-path Redis connection.',
    registers: [this.registry],
  });
  readonly redisCommandQueueDepth = new Gauge({
    name: 'ledger_redis_command_queue_depth',
    help: 'Commands sent on the hot-path connection and awaiting their reply (sampled at scrape).',
    collect: this.samplers.collect((): object => this.redisCommandQueueDepth),
    registers: [this.registry],
  });
  readonly redisServerCpuSeconds = new Counter({
    name: 'ledger_redis_server_cpu_seconds_total',
    help: 'CPU time used by the Redis server (INFO cpu used_cpu_user/used_cpu_sys, sampled at scrape).',
    labelNames: ['mode'],
    collect: this.samplers.collect((): object => this.redisServerCpuSeconds),
    registers: [this.registry],
  });

  // Outbox
  readonly outboxPending = new Gauge({
    name: 'ledger_outbox_pending_events',
    help: 'Events waiting: store="redis" in the outbox streams (not yet in Postgres), store="postgres" stored but not yet published to Kafka.',
    labelNames: ['store'],
    collect: this.samplers.collect((): object => this.outboxPending),
    registers: [this.registry],
  });
  readonly outboxOldestSeconds = new Gauge({
    name: 'ledger_outbox_oldest_unpublished_seconds',
    help: 'Age of the oldest event waiting in the store (the outbox lag), in seconds; 0 when none waits.',
    labelNames: ['store'],
    collect: this.samplers.collect((): object => this.outboxOldestSeconds),
    registers: [this.registry],
  });

  // Postgres, relay, Kafka, durable acks (recorded through PostgresTelemetry / OutboxTelemetry)
  readonly pgQuerySeconds = new FastHistogram({
    name: 'ledger_pg_query_seconds',
    help: 'Postgres statement latency by operation, in seconds.',
    labelNames: ['operation'],
    buckets: IO_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly pgQueryErrors = new FastCounter({
    name: 'ledger_pg_query_errors_total',
    help: 'Postgres statements that failed, by operation.',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  readonly pgPoolConnections = new Gauge({
    name: 'ledger_pg_pool_connections',
    help: 'Connections of the Postgres pool by state (idle, active); their sum is the pool total.',
    labelNames: ['state'],
    collect: this.samplers.collect((): object => this.pgPoolConnections),
    registers: [this.registry],
  });
  readonly pgPoolWaiting = new Gauge({
    name: 'ledger_pg_pool_waiting_clients',
    help: 'Callers waiting for a Postgres pool connection.',
    collect: this.samplers.collect((): object => this.pgPoolWaiting),
    registers: [this.registry],
  });
  readonly pgLockWaits = new Gauge({
    name: 'ledger_pg_lock_waits',
    help: 'Postgres sessions of this database waiting on a lock (pg_stat_activity/pg_locks, sampled).',
    collect: this.samplers.collect((): object => this.pgLockWaits),
    registers: [this.registry],
  });
  readonly relayBatchSize = new FastHistogram({
    name: 'ledger_relay_batch_size',
    help: 'Events per relay batch (Redis outbox to Postgres).',
    buckets: BATCH_SIZE_BUCKETS,
    registers: [this.registry],
  });
  readonly relayBatchSeconds = new FastHistogram({
    name: 'ledger_relay_batch_seconds',
    help: 'Postgres transaction time of one relay batch, in seconds.',
    buckets: IO_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly relayBatchFailures = new FastCounter({
    name: 'ledger_relay_batch_failures_total',
    help: 'Relay batches whose transaction failed (retried later).',
    registers: [this.registry],
  });
  readonly kafkaProduceSeconds = new FastHistogram({
    name: 'ledger_kafka_produce_seconds',
    help: 'Latency of one Kafka produce call (send until acknowledged), in seconds.',
    buckets: IO_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly kafkaProduceErrors = new FastCounter({
    name: 'ledger_kafka_produce_errors_total',
    help: 'Kafka produce calls that failed.',
    registers: [this.registry],
  });
  readonly kafkaProducedEvents = new FastCounter({
    name: 'ledger_kafka_produced_events_total',
    help: 'Events published to Kafka.',
    registers: [this.registry],
  });
  readonly ackWaitSeconds = new FastHistogram({
    name: 'ledger_ack_wait_seconds',
    help: 'Time a mutating call waited for its acknowledgement level after Redis applied it (mode = fast | durable), in seconds.',
    labelNames: ['mode'],
    buckets: IO_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics: boolean } = { defaultMetrics: true }) {
    // Node runtime: CPU, memory, heap spaces, GC pauses, event-loop lag, handles.
    if (options.defaultMetrics) collectNodeRuntimeMetrics(this.registry);
  }
}
