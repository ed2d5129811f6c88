import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../../config/config';
import { LEDGER_CONFIG } from '../../config/config.module';
import { createRedisClient } from '../redis/redis-client';
import { EventStoreProbe } from './event-store-probe';
import { IdFilterRebuild, idFilterRebuildOptions } from './id-filter-rebuild';

/**
 * Keeps Redis a complete cache of the event store's idempotency (the id filters of
 * lua/lib/idempotent.lua, IdFilterRebuild) and watches whether the event store answers
 * (EventStoreProbe, read by DurableGate).
 */
@Global()
@Module({
  providers: [
    {
      provide: EventStoreProbe,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig): EventStoreProbe => {
        const logger = new Logger(EventStoreProbe.name);
        const options = { url: config.postgres.url, intervalMs: 500, timeoutMs: config.postgres.connectTimeoutMs };
        return new EventStoreProbe(options, (reachable, error) => {
          if (reachable) logger.log('event store reachable again: durable calls accepted');
          else
            logger.warn(
              `event store unreachable, durable calls refused until it answers: ${error instanceof Error ? error.message : String(error)}`,
            );
        });
      },
    },
    {
      provide: IdFilterRebuild,
      inject: [LEDGER_CONFIG, DataSource],
      useFactory: (config: LedgerConfig, db: DataSource): IdFilterRebuild => {
        const logger = new Logger(IdFilterRebuild.name);
        let failing = false;
        return new IdFilterRebuild(
          createRedisClient(config.redis, 'ledger-id-filter'),
          db,
          idFilterRebuildOptions(config),
          {
            rebuilt: (ids, seconds) => {
              failing = false;
              logger.log(`id filters rebuilt: ${ids} ids in ${seconds.toFixed(1)} s; new ids skip the event store now`);
            },
            failed: (error) => {
              // Logged once per outage (it retries every check), not every two seconds.
              if (failing) return;
              failing = true;
              logger.warn(
                `id filter rebuild failed, retrying: ${error instanceof Error ? error.message : String(error)}`,
              );
            },
          },
        );
      },
    },
  ],
  exports: [EventStoreProbe],
})
export class RecoveryModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(IdFilterRebuild) private readonly rebuild: IdFilterRebuild,
    @Inject(EventStoreProbe) private readonly probe: EventStoreProbe,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.probe.start();
    await this.rebuild.start(10_000);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.rebuild.stop(), this.probe.stop()]);
  }
}
