import type { FactoryProvider } from '@nestjs/common';
import type Redis from 'ioredis';
import type { LedgerConfig } from '../../config/config';
import { LEDGER_CONFIG } from '../../config/config.module';
import { CurrencyRegistry } from '../../ledger/domain/currency';
import { LedgerStore } from '../../ledger/ports/ledger-store';
import { callerDeadlineMs } from '../grpc/call-deadline';
import type { OutboxTelemetry } from '../observability/persistence-telemetry';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { AccountRecovery } from '../recovery/account-recovery';
import { DurableGate } from '../recovery/durable-gate';
import { EventStoreProbe } from '../recovery/event-store-probe';
import { LuaScripts } from '../redis/lua-scripts';
import { createRedisClient } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.module';
import { RedisLedgerStore } from '../redis/redis-ledger-store';
import { AcknowledgingLedgerStore } from './acknowledging-ledger-store';
import { DurabilityWaiter } from './durability-waiter';
import { SUBSCRIBER_REDIS, TELEMETRY } from './outbox-tokens';

export const subscriberRedisProvider: FactoryProvider = {
  provide: SUBSCRIBER_REDIS,
  inject: [LEDGER_CONFIG],
  useFactory: (config: LedgerConfig): Redis => createRedisClient(config.redis, 'ledger-durable-acks'),
};

export const durabilityWaiterProvider: FactoryProvider = {
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
};

/** The handlers' store: Redis, acknowledged as LEDGER_ACK_MODE says, behind the DurableGate in durable mode. */
export const ledgerStoreProvider: FactoryProvider = {
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
};
