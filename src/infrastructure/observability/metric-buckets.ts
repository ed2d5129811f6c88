/** Histogram bucket bounds of the ledger metrics (LedgerMetrics), in seconds unless named otherwise. */

/** gRPC handling time: fine between 0.1 and 30 ms, so that a p99 of 0.5-20 ms is read closely. */
export const GRPC_SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.00175, 0.002, 0.0025, 0.003, 0.0035, 0.004, 0.005, 0.006,
  0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Steps inside a command: validation and parsing take microseconds. */
export const STEP_SECONDS_BUCKETS = [
  0.000001, 0.0000025, 0.000005, 0.0000075, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
  0.01, 0.025, 0.05, 0.1, 0.5, 1,
];
/** Redis round trips: from 50 us (a warm EVALSHA on loopback) up. */
export const REDIS_SECONDS_BUCKETS = [
  0.00005, 0.000075, 0.0001, 0.000125, 0.00015, 0.0002, 0.00025, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002,
  0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
/** Postgres statements, relay transactions, Kafka produce calls, durable-ack waits. */
export const IO_SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
  0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
export const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
/** Node GC pauses: scavenges take 0.1-2 ms; prom-client's default buckets start at 1 ms. */
export const GC_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
