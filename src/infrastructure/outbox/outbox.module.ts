import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import type { LedgerConfig } from '../../config/config';
import { LEDGER_CONFIG } from '../../config/config.module';
import { LedgerStore } from '../../ledger/ports/ledger-store';
import { KafkaPublisher } from '../kafka/kafka-publisher';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { Snapshotter } from '../postgres/snapshotter';
import { AccountRecovery } from '../recovery/account-recovery';
import { LuaScripts } from '../redis/lua-scripts';
import { DurabilityWaiter } from './durability-waiter';
import { durabilityWaiterProvider, ledgerStoreProvider, subscriberRedisProvider } from './durable-ack-wiring';
import { subscribeToStored } from './durable-notifications';
import { OutboxRelay } from './outbox-relay';
import { RELAY_REDIS, SUBSCRIBER_REDIS } from './outbox-tokens';
import { kafkaPublisherProvider } from './publisher-wiring';
import { checkStoreBinding, EventStoreMismatchError } from './relay-leader';
import { outboxRelayProvider, relayRedisProvider, snapshotterProvider } from './relay-wiring';

/**
 * The outbox saga and the store the handlers use: Redis applies every mutation and appends its
 * events to the outbox; the relay moves them into Postgres; the publisher moves them to Kafka.
 * In durable mode the handlers' store waits for Postgres before answering.
 */
@Global()
@Module({
  providers: [
    relayRedisProvider,
    subscriberRedisProvider,
    durabilityWaiterProvider,
    {
      provide: AccountRecovery,
      inject: [PostgresEventStore, LuaScripts, LEDGER_CONFIG],
      useFactory: (events: PostgresEventStore, scripts: LuaScripts, config: LedgerConfig) =>
        new AccountRecovery(events, scripts, config.ledger.buckets),
    },
    ledgerStoreProvider,
    snapshotterProvider,
    outboxRelayProvider,
    kafkaPublisherProvider,
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
