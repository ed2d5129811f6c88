import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type FactoryProvider, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { LedgerConfig } from '../../config/config';
import { LEDGER_CONFIG } from '../../config/config.module';
import { KafkaPublisher } from '../kafka/kafka-publisher';
import type { OutboxTelemetry } from '../observability/persistence-telemetry';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { Snapshotter } from '../postgres/snapshotter';
import { AccountRecovery } from '../recovery/account-recovery';
import { createRedisClient } from '../redis/redis-client';
import { traceparentsOf } from './batch-traceparents';
import { DurabilityWaiter } from './durability-waiter';
import { DURABLE_CHANNEL, encodeStored } from './durable-notifications';
import { OutboxRelay, type RelayObserver } from './outbox-relay';
import { RELAY_REDIS, TELEMETRY } from './outbox-tokens';
import { throttled } from './throttled-log';

const INSTANCE_ID = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

export const relayRedisProvider: FactoryProvider = {
  provide: RELAY_REDIS,
  inject: [LEDGER_CONFIG],
  useFactory: (config: LedgerConfig): Redis =>
    createRedisClient(
      { ...config.redis, commandTimeoutMs: config.redis.commandTimeoutMs + config.eventStore.relayBlockMs },
      'ledger-relay',
    ),
};

export const snapshotterProvider: FactoryProvider = {
  provide: Snapshotter,
  inject: [PostgresEventStore, LEDGER_CONFIG],
  useFactory: (events: PostgresEventStore, config: LedgerConfig) => {
    const logger = new Logger(Snapshotter.name);
    return new Snapshotter(events, { every: config.eventStore.snapshotEvery, queueMax: 10_000 }, (error) =>
      logger.warn(`snapshot failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  },
};

/**
 * The relay (outbox to Postgres). A stored batch is reported at once to the durable waits here and,
 * through DURABLE_CHANNEL, on the other instances, then handed to the publisher and the snapshotter.
 */
export const outboxRelayProvider: FactoryProvider = {
  provide: OutboxRelay,
  inject: [
    RELAY_REDIS,
    PostgresEventStore,
    LEDGER_CONFIG,
    DurabilityWaiter,
    Snapshotter,
    AccountRecovery,
    KafkaPublisher,
    TELEMETRY,
  ],
  useFactory: (
    redis: Redis,
    events: PostgresEventStore,
    config: LedgerConfig,
    waiter: DurabilityWaiter,
    snapshotter: Snapshotter,
    recovery: AccountRecovery,
    publisher: KafkaPublisher,
    telemetry?: OutboxTelemetry,
  ) => {
    const logger = new Logger(OutboxRelay.name);
    return new OutboxRelay(
      redis,
      events,
      {
        instanceId: INSTANCE_ID,
        buckets: config.ledger.buckets,
        batchMax: config.eventStore.relayBatchMax,
        blockMs: config.eventStore.relayBlockMs,
        gatherMs: config.eventStore.relayGatherMs,
        leaseMs: config.eventStore.relayLeaseMs,
        retryBackoffMaxMs: config.eventStore.retryBackoffMaxMs,
      },
      ({ stored, committed, trace }) => {
        const ids = stored.map((e) => e.eventId);
        waiter.onStored(ids, trace);
        // Calls served by other instances on this Redis wait for these events too.
        redis.publish(DURABLE_CHANNEL, encodeStored(ids, trace)).catch(() => undefined);
        publisher.offer({ ...committed, trace });
        snapshotter.noteStored(stored);
      },
      relayObserver(logger, recovery, publisher, telemetry),
    );
  },
};

/** What the relay reports: into the metrics and spans (when telemetry is on) and the log. */
function relayObserver(
  logger: Logger,
  recovery: AccountRecovery,
  publisher: KafkaPublisher,
  telemetry: OutboxTelemetry | undefined,
): RelayObserver {
  const logRelayFailure = throttled(logger, 'relay round');
  return {
    batch: (size, seconds) => telemetry?.relayBatch(size, seconds),
    failure: (error, attempt) => {
      telemetry?.relayBatch(0, 0, false);
      logRelayFailure(error, attempt);
    },
    traced: (stored, append) =>
      telemetry
        ? telemetry.withLinkedSpan(
            'relay.pg.insert',
            traceparentsOf(stored),
            (span) => append(telemetry.traceparentOf(span)),
            { 'ledger.batch_size': stored.length },
          )
        : append(''),
    deadLetter: (count) => logger.error(`${count} malformed outbox entries moved to dead-letter streams`),
    redisReset: () => {
      // Holds must keep expiring even on accounts nobody touches after the loss.
      recovery
        .restoreExpiringHolds()
        .then((n) => n > 0 && logger.warn(`redis started empty: rebuilt ${n} accounts with expiring holds`))
        .catch((error: unknown) =>
          logger.error(
            `rebuilding accounts with expiring holds failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
    },
    leading: (leader) => publisher.relayLeading(leader),
    lost: (events) =>
      logger.error(
        `redis lost ${events.length} outbox events before they were stored; their calls were not acknowledged durably`,
      ),
    conflicts: (events) =>
      logger.error(
        `${events.length} events conflict with stored versions (kept in ledger_event_conflicts): ` +
          events.map((e) => `${e.accountId} v${e.version}`).join(', '),
      ),
  };
}
