import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../../config/config';
import { ConfigError } from '../../config/config-error';
import { LEDGER_CONFIG } from '../../config/config.module';
import { CurrencyRegistry } from '../../ledger/domain/currency';
import { ProtoMapper } from '../../ledger/grpc/to-proto';
import { LedgerStore } from '../../ledger/ports/ledger-store';
import { kafkaSecurityOptions } from '../kafka/kafka-client';
import { KafkaPublisher } from '../kafka/kafka-publisher';
import { pgPool } from '../postgres/data-source';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { Snapshotter } from '../postgres/snapshotter';
import { AccountRecovery } from '../recovery/account-recovery';
import { DurableGate } from '../recovery/durable-gate';
import { EventStoreProbe } from '../recovery/event-store-probe';
import { LuaScripts } from '../redis/lua-scripts';
import { createRedisClient } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.module';
import { RedisLedgerStore } from '../redis/redis-ledger-store';
import { callerDeadlineMs } from '../grpc/call-deadline';
import { DurabilityWaiter } from './durability-waiter';
import { OutboxTelemetry } from '../observability/persistence-telemetry';
import { AcknowledgingLedgerStore } from './acknowledging-ledger-store';
import { DURABLE_CHANNEL, encodeStored, subscribeToStored } from './durable-notifications';
import { OutboxRelay } from './outbox-relay';
import { checkStoreBinding, EventStoreMismatchError } from './relay-leader';

/** Connections of their own for the relay (blocking reads) and the durable-ack subscriber. */
const RELAY_REDIS = Symbol('RELAY_REDIS');
const SUBSCRIBER_REDIS = Symbol('SUBSCRIBER_REDIS');
const INSTANCE_ID = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
/** Metrics and linked spans (ObservabilityModule); absent when the module is used on its own. */
const TELEMETRY = { token: OutboxTelemetry, optional: true };

/** Stored W3C traceparents of a batch, at most a bounded number (span links are not free). */
function traceparentsOf(events: readonly { traceparent: string }[]): string[] {
  const parents = new Set<string>();
  for (const e of events) {
    if (e.traceparent !== '') parents.add(e.traceparent);
    if (parents.size >= 128) break;
  }
  return [...parents];
}

/** Logs a repeating failure once, then at most every 10 s, so an outage does not flood the log. */
function throttled(logger: Logger, what: string): (error: unknown, attempt: number) => void {
  let last = 0;
  return (error, attempt) => {
    const now = Date.now();
    if (attempt > 1 && now - last < 10_000) return;
    last = now;
    const message = `${what} failed (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`;
    // A dependency being down heals by itself; a wrong configuration needs an operator.
    if (error instanceof ConfigError) logger.error(message);
    else logger.warn(message);
  };
}

/**
 * The outbox saga and the store the handlers use: Redis applies every mutation and appends its
 * events to the outbox; the relay moves them into Postgres; the publisher moves them to Kafka.
 * In durable mode the handlers' store waits for Postgres before answering.
 */
@Global()
@Module({
  providers: [
    {
      provide: RELAY_REDIS,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): Redis =>
        createRedisClient(
          { ...config.redis, commandTimeoutMs: config.redis.commandTimeoutMs + config.eventStore.relayBlockMs },
          'ledger-relay',
        ),
    },
    {
      provide: SUBSCRIBER_REDIS,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): Redis => createRedisClient(config.redis, 'ledger-durable-acks'),
    },
    {
      provide: DurabilityWaiter,
      inject: [LEDGER_CONFIG, PostgresEventStore],
      useFactory: (config: LedgerConfig, events: PostgresEventStore) =>
        new DurabilityWaiter(
          {
            timeoutMs: config.eventStore.durableAckTimeoutMs,
            pollMs: 100,
            pollBatchMax: 1000,
            waitersMax: 100_000,
            recentMax: 200_000,
          },
          (ids) => events.storedEventIds(ids),
        ),
    },
    {
      provide: AccountRecovery,
      inject: [PostgresEventStore, LuaScripts, LEDGER_CONFIG],
      useFactory: (events: PostgresEventStore, scripts: LuaScripts, config: LedgerConfig) =>
        new AccountRecovery(events, scripts, config.ledger.buckets),
    },
    {
      provide: LedgerStore,
      inject: [
        REDIS_CLIENT,
        LuaScripts,
        CurrencyRegistry,
        LEDGER_CONFIG,
        AccountRecovery,
        DurabilityWaiter,
        EventStoreProbe,
        TELEMETRY,
      ],
      useFactory: (
        redis: Redis,
        scripts: LuaScripts,
        currencies: CurrencyRegistry,
        config: LedgerConfig,
        recovery: AccountRecovery,
        waiter: DurabilityWaiter,
        probe: EventStoreProbe,
        telemetry?: OutboxTelemetry,
      ): LedgerStore => {
        const live = new RedisLedgerStore(redis, scripts, currencies, config.ledger, recovery);
        const acknowledging = new AcknowledgingLedgerStore(
          live,
          config.eventStore.ackMode,
          waiter,
          {
            acknowledged: (mode, seconds) => telemetry?.ackWait(mode, seconds),
            traced: (events, wait) => (telemetry ? telemetry.durableAck(events, wait) : wait()),
          },
          callerDeadlineMs,
        );
        // Fast mode keeps taking calls through a Postgres outage (the outbox absorbs it).
        return config.eventStore.ackMode === 'durable'
          ? new DurableGate(acknowledging, probe, {
              waitedMs: () => waiter.oldestWaitMs(),
              limitMs: config.eventStore.durableShedAfterMs,
            })
          : acknowledging;
      },
    },
    {
      provide: Snapshotter,
      inject: [PostgresEventStore, LEDGER_CONFIG],
      useFactory: (events: PostgresEventStore, config: LedgerConfig) => {
        const logger = new Logger(Snapshotter.name);
        return new Snapshotter(events, { every: config.eventStore.snapshotEvery, queueMax: 10_000 }, (error) =>
          logger.warn(`snapshot failed: ${error instanceof Error ? error.message : String(error)}`),
        );
      },
    },
    {
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
        const logRelayFailure = throttled(logger, 'relay round');
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
          {
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
          },
        );
      },
    },
    {
      provide: KafkaPublisher,
      inject: [DataSource, CurrencyRegistry, LEDGER_CONFIG, TELEMETRY],
      useFactory: (db: DataSource, currencies: CurrencyRegistry, config: LedgerConfig, telemetry?: OutboxTelemetry) => {
        const logger = new Logger(KafkaPublisher.name);
        const logPublishFailure = throttled(logger, 'kafka publish');
        const kafka = new Kafka({
          clientId: config.kafka.clientId,
          brokers: config.kafka.brokers,
          logLevel: logLevel.NOTHING,
          connectionTimeout: config.kafka.requestTimeoutMs,
          requestTimeout: config.kafka.requestTimeoutMs,
          retry: { retries: 2, initialRetryTime: 100, maxRetryTime: config.eventStore.retryBackoffMaxMs },
          ...kafkaSecurityOptions(config.kafka.security),
        });
        return new KafkaPublisher(
          () => pgPool(db),
          kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false }),
          kafka.admin(),
          new ProtoMapper(currencies),
          {
            topic: config.kafka.topic,
            partitions: config.kafka.partitions,
            batchMax: config.kafka.batchMax,
            idlePollMs: 50,
            safetyPollMs: 1000,
            retryBackoffMaxMs: config.eventStore.retryBackoffMaxMs,
            handoffMax: config.kafka.batchMax * 8,
            lingerMs: config.kafka.lingerMs,
          },
          {
            produced: (count, seconds) => telemetry?.kafkaProduce(seconds, true, count),
            failure: (error, attempt) => {
              telemetry?.kafkaProduce(0, false);
              logPublishFailure(error, attempt);
            },
            backlog: (pending, oldestAgeSeconds) => {
              telemetry?.setPending('postgres', pending);
              telemetry?.setOldestUnpublishedAge(oldestAgeSeconds);
            },
            traced: (events, batchTraces, send) =>
              telemetry
                ? telemetry.withLinkedSpan(
                    `kafka.produce ${config.kafka.topic}`,
                    // A child of the (first) relay batch it publishes, so that the batch's trace
                    // shows its produce; linked to any further batch and to the calls.
                    [...batchTraces.slice(1), ...traceparentsOf(events)],
                    () => send(),
                    {
                      'messaging.system': 'kafka',
                      'messaging.destination.name': config.kafka.topic,
                      'messaging.batch.message_count': events.length,
                      'ledger.relay_batches': batchTraces.length,
                    },
                    batchTraces[0],
                  )
                : send(),
          },
        );
      },
    },
  ],
  exports: [LedgerStore, DurabilityWaiter, AccountRecovery, OutboxRelay, KafkaPublisher, Snapshotter],
})
export class OutboxModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxModule.name);

  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(RELAY_REDIS) private readonly relayRedis: Redis,
    @Inject(SUBSCRIBER_REDIS) private readonly subscriber: Redis,
    private readonly waiter: DurabilityWaiter,
    private readonly relay: OutboxRelay,
    private readonly publisher: KafkaPublisher,
    private readonly events: PostgresEventStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const [name, connection] of [
      ['relay', this.relayRedis],
      ['durable-ack subscriber', this.subscriber],
    ] as const) {
      connection.on('error', () => undefined);
      await connection.connect().catch((error: unknown) => {
        this.logger.warn(
          `redis (${name}) not reachable at start: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }
    await this.checkStoreBinding();
    if (this.config.eventStore.ackMode === 'durable') {
      subscribeToStored(this.subscriber, ({ eventIds, batch }) => this.waiter.onStored(eventIds, batch));
    }
    if (this.config.eventStore.workers) {
      this.relay.start();
      this.publisher.start();
    }
  }

  /**
   * Stops the start when the Redis holds the state of another event store (a misconfiguration
   * that would otherwise show as durable calls timing out). With Redis or Postgres unreachable
   * the start goes on: the relay checks the binding before it stores anything.
   */
  private async checkStoreBinding(): Promise<void> {
    try {
      await checkStoreBinding(this.relayRedis, await this.events.storeId());
    } catch (error) {
      if (error instanceof EventStoreMismatchError) throw error;
      this.logger.warn(
        `event store binding not checked at start: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.publisher.stop();
    this.relayRedis.disconnect();
    this.subscriber.disconnect();
  }
}
