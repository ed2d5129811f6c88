import { ConfigError } from './config-error';
import {
  assets,
  brokers,
  type Env,
  flag,
  hostPort,
  integer,
  oneOf,
  postgresUrl,
  readableFile,
  redisUrl,
  text,
} from './env-values';
import { type KafkaSecurity, kafkaSecurity } from './kafka-security';

/**
 * The service's configuration, read once from environment variables and validated at start.
 * A bad or missing value stops the process with a message naming the variable.
 */
export interface LedgerConfig {
  grpc: {
    /** host:port the gRPC server binds */
    address: string;
    /** bound on one request or reply message */
    maxMessageBytes: number;
    /** TLS from PEM files (re-read every reloadMs); with clientCaFile, mutual TLS: a client certificate signed by it is required */
    tls: { certFile: string; keyFile: string; clientCaFile: string | undefined; reloadMs: number } | undefined;
    /** server keepalive pings on idle connections, and how long an unanswered ping may take */
    keepaliveTimeMs: number;
    keepaliveTimeoutMs: number;
    /** connections are closed (gracefully) after this age, so that clients spread over new instances; 0 = never */
    maxConnectionAgeMs: number;
  };
  http: { host: string; port: number };
  redis: {
    url: string;
    /** a Redis command that has not answered after this fails the call with UNAVAILABLE */
    commandTimeoutMs: number;
    connectTimeoutMs: number;
  };
  ledger: {
    /** accounts are spread over this many buckets (hash tags); fixed for the life of the data */
    buckets: number;
    idempotencyRetentionSeconds: number;
    /** per-bucket bound on events waiting in the Redis outbox; past it mutating calls get OVERLOADED */
    outboxMaxPerBucket: number;
    expirySweepIntervalMs: number;
    /** bound on reservations one sweep expires per bucket */
    expiryBatchMax: number;
    /** extra assets beyond ISO 4217, "CODE:scale,..." */
    extraAssets: string;
    /** bound on the in-process cache of reservation_id -> account_id */
    reservationLocationCacheMax: number;
    /** size of each bucket's Bloom filter of used ids (bits) and the bits set per id */
    idFilterBits: number;
    idFilterHashes: number;
  };
  postgres: {
    url: string;
    poolMax: number;
    statementTimeoutMs: number;
    connectTimeoutMs: number;
  };
  kafka: {
    brokers: string[];
    topic: string;
    clientId: string;
    /** partitions of the topic when the publisher creates it */
    partitions: number;
    /** bound on one produce request (events per send) */
    batchMax: number;
    /** least time between two produce requests unless one is full (KafkaPublisherOptions.lingerMs) */
    lingerMs: number;
    requestTimeoutMs: number;
    /** TLS and SASL towards the brokers (kafka-client.ts) */
    security: KafkaSecurity;
  };
  eventStore: {
    /** durable: a mutating call is answered once its events are committed in Postgres; fast: once Redis applied them */
    ackMode: 'durable' | 'fast';
    /** bound on the wait for durability; past it the call fails with UNAVAILABLE (safe to retry) */
    durableAckTimeoutMs: number;
    /** durable mode: once a call has waited this long for its events, new mutations are refused (DurableGate) */
    durableShedAfterMs: number;
    /** bound on outbox entries the relay appends in one Postgres transaction */
    relayBatchMax: number;
    /** how long one relay read blocks on an empty outbox */
    relayBlockMs: number;
    /** group commit: after a partial batch the relay reads again only this long after that round began */
    relayGatherMs: number;
    /** the relay leader lease: another instance takes over this long after the leader stops renewing */
    relayLeaseMs: number;
    /** a snapshot of an account is written every this many events */
    snapshotEvery: number;
    /** the relay/publisher retry Postgres/Kafka with backoff capped at this */
    retryBackoffMaxMs: number;
    /** run the relay and publisher in this process (off for tools that only read) */
    workers: boolean;
  };
  shutdown: {
    /** bound on the whole shutdown after SIGTERM (below Kubernetes' 30 s grace); past it the process exits */
    timeoutMs: number;
    /** after SIGTERM, health says NOT_SERVING this long before new calls are refused (load balancers notice) */
    delayMs: number;
    /** bound on the wait for in-flight calls; the ones still running then are cancelled */
    drainMs: number;
  };
  log: { level: string };
}

export function loadConfig(env: Env = process.env): LedgerConfig {
  const durableAckTimeoutMs = integer(env, 'LEDGER_DURABLE_ACK_TIMEOUT_MS', 5000, 10, 60_000);
  return {
    grpc: {
      address: hostPort(env, 'LEDGER_GRPC_ADDRESS', '127.0.0.1:50051'),
      maxMessageBytes: integer(env, 'LEDGER_GRPC_MAX_MESSAGE_BYTES', 1_048_576, 1024, 16_777_216),
      tls: grpcTls(env),
      keepaliveTimeMs: integer(env, 'LEDGER_GRPC_KEEPALIVE_TIME_MS', 60_000, 1000, 7_200_000),
      keepaliveTimeoutMs: integer(env, 'LEDGER_GRPC_KEEPALIVE_TIMEOUT_MS', 20_000, 1000, 600_000),
      maxConnectionAgeMs: integer(env, 'LEDGER_GRPC_MAX_CONNECTION_AGE_MS', 0, 0, 86_400_000),
    },
    http: {
      host: text(env, 'LEDGER_HTTP_HOST', '127.0.0.1'),
      port: integer(env, 'LEDGER_HTTP_PORT', 9464, 0, 65535),
    },
    redis: {
      url: redisUrl(env, 'LEDGER_REDIS_URL', 'redis://127.0.0.1:6379/0'),
      commandTimeoutMs: integer(env, 'LEDGER_REDIS_COMMAND_TIMEOUT_MS', 500, 10, 60_000),
      connectTimeoutMs: integer(env, 'LEDGER_REDIS_CONNECT_TIMEOUT_MS', 1000, 10, 60_000),
    },
    ledger: {
      buckets: integer(env, 'LEDGER_BUCKETS', 16, 1, 16384),
      idempotencyRetentionSeconds: integer(env, 'LEDGER_IDEMPOTENCY_RETENTION_SECONDS', 86_400, 60, 31_536_000),
      outboxMaxPerBucket: integer(env, 'LEDGER_OUTBOX_MAX_PER_BUCKET', 100_000, 10, 10_000_000),
      expirySweepIntervalMs: integer(env, 'LEDGER_EXPIRY_SWEEP_INTERVAL_MS', 250, 10, 1000),
      expiryBatchMax: integer(env, 'LEDGER_EXPIRY_BATCH_MAX', 200, 1, 10_000),
      extraAssets: assets(env, 'LEDGER_EXTRA_ASSETS'),
      reservationLocationCacheMax: integer(env, 'LEDGER_RESERVATION_CACHE_MAX', 100_000, 0, 10_000_000),
      // 2^23 bits (1 MiB) per bucket holds ~870k ids per bucket at a 1% false-positive rate with 7
      // bits per id; past that more calls pay an event store lookup, never a wrong answer.
      idFilterBits: integer(env, 'LEDGER_ID_FILTER_BITS', 8_388_608, 1024, 4_294_967_295),
      idFilterHashes: integer(env, 'LEDGER_ID_FILTER_HASHES', 7, 1, 16),
    },
    postgres: {
      url: postgresUrl(env, 'LEDGER_DATABASE_URL', 'postgres://ledger:ledger@127.0.0.1:5432/ledger'),
      poolMax: integer(env, 'LEDGER_PG_POOL_MAX', 10, 1, 200),
      statementTimeoutMs: integer(env, 'LEDGER_PG_STATEMENT_TIMEOUT_MS', 5000, 10, 600_000),
      connectTimeoutMs: integer(env, 'LEDGER_PG_CONNECT_TIMEOUT_MS', 2000, 10, 60_000),
    },
    kafka: {
      brokers: brokers(env, 'LEDGER_KAFKA_BROKERS', '127.0.0.1:9092'),
      topic: text(env, 'LEDGER_KAFKA_TOPIC', 'ledger.account-events.v1'),
      clientId: text(env, 'LEDGER_KAFKA_CLIENT_ID', 'ledger'),
      partitions: integer(env, 'LEDGER_KAFKA_PARTITIONS', 12, 1, 1000),
      batchMax: integer(env, 'LEDGER_KAFKA_BATCH_MAX', 500, 1, 10_000),
      lingerMs: integer(env, 'LEDGER_KAFKA_LINGER_MS', 100, 0, 5000),
      requestTimeoutMs: integer(env, 'LEDGER_KAFKA_REQUEST_TIMEOUT_MS', 5000, 100, 120_000),
      security: kafkaSecurity(env),
    },
    eventStore: {
      ackMode: oneOf(env, 'LEDGER_ACK_MODE', 'durable', ['durable', 'fast']) as 'durable' | 'fast',
      durableAckTimeoutMs,
      durableShedAfterMs: shedAfter(env, durableAckTimeoutMs),
      relayBatchMax: integer(env, 'LEDGER_RELAY_BATCH_MAX', 500, 1, 10_000),
      relayBlockMs: integer(env, 'LEDGER_RELAY_BLOCK_MS', 100, 1, 10_000),
      relayGatherMs: integer(env, 'LEDGER_RELAY_GATHER_MS', 5, 0, 1000),
      relayLeaseMs: integer(env, 'LEDGER_RELAY_LEASE_MS', 5000, 500, 600_000),
      snapshotEvery: integer(env, 'LEDGER_SNAPSHOT_EVERY', 100, 1, 1_000_000),
      retryBackoffMaxMs: integer(env, 'LEDGER_RETRY_BACKOFF_MAX_MS', 2000, 10, 60_000),
      workers: flag(env, 'LEDGER_WORKERS', true),
    },
    shutdown: shutdown(env),
    log: { level: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) },
  };
}

/**
 * LEDGER_DURABLE_SHED_AFTER_MS (default: 70% of the durable-ack timeout): a new call waits about
 * as long as the longest wait so far, so past this it would most likely time out; refusing
 * earlier turns a passing backlog into refusals.
 */
function shedAfter(env: Env, timeoutMs: number): number {
  const ms = integer(env, 'LEDGER_DURABLE_SHED_AFTER_MS', Math.round(timeoutMs * 0.7), 10, 60_000);
  if (ms >= timeoutMs) {
    throw new ConfigError('LEDGER_DURABLE_SHED_AFTER_MS', `must be below LEDGER_DURABLE_ACK_TIMEOUT_MS (${timeoutMs})`);
  }
  return ms;
}

function grpcTls(env: Env): LedgerConfig['grpc']['tls'] {
  const certFile = readableFile(env, 'LEDGER_GRPC_TLS_CERT_FILE');
  const keyFile = readableFile(env, 'LEDGER_GRPC_TLS_KEY_FILE');
  const clientCaFile = readableFile(env, 'LEDGER_GRPC_TLS_CLIENT_CA_FILE');
  const reloadMs = integer(env, 'LEDGER_GRPC_TLS_RELOAD_MS', 60_000, 100, 86_400_000);
  if (certFile === undefined && keyFile === undefined) {
    if (clientCaFile !== undefined) {
      throw new ConfigError(
        'LEDGER_GRPC_TLS_CLIENT_CA_FILE',
        'needs LEDGER_GRPC_TLS_CERT_FILE and _KEY_FILE (mutual TLS is TLS)',
      );
    }
    return undefined;
  }
  if (certFile === undefined)
    throw new ConfigError('LEDGER_GRPC_TLS_CERT_FILE', 'is needed with LEDGER_GRPC_TLS_KEY_FILE');
  if (keyFile === undefined)
    throw new ConfigError('LEDGER_GRPC_TLS_KEY_FILE', 'is needed with LEDGER_GRPC_TLS_CERT_FILE');
  return { certFile, keyFile, clientCaFile, reloadMs };
}

function shutdown(env: Env): LedgerConfig['shutdown'] {
  const timeoutMs = integer(env, 'LEDGER_SHUTDOWN_TIMEOUT_MS', 25_000, 1000, 600_000);
  const delayMs = integer(env, 'LEDGER_SHUTDOWN_DELAY_MS', 1000, 0, 60_000);
  const drainMs = integer(env, 'LEDGER_SHUTDOWN_DRAIN_MS', 10_000, 0, 600_000);
  if (delayMs + drainMs >= timeoutMs) {
    throw new ConfigError(
      'LEDGER_SHUTDOWN_TIMEOUT_MS',
      `must exceed LEDGER_SHUTDOWN_DELAY_MS + LEDGER_SHUTDOWN_DRAIN_MS (${delayMs} + ${drainMs}), got ${timeoutMs}`,
    );
  }
  return { timeoutMs, delayMs, drainMs };
}
