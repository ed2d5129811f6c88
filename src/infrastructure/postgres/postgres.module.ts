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
import { EventHistory } from '../../ledger/ports/event-history';
import { createDataSource } from './data-source';
import { PostgresEventHistory } from './postgres-event-history';
import { PostgresEventStore } from './postgres-event-store';

/**
 * The event store's connection. Postgres being down at start is not fatal: the pool is
 * (re)initialized in the background, and calls that need it fail with UNAVAILABLE meanwhile.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [LEDGER_CONFIG],
      useFactory: (config: LedgerConfig) => createDataSource(config.postgres),
    },
    {
      provide: PostgresEventStore,
      inject: [DataSource],
      useFactory: (db: DataSource) => new PostgresEventStore(db),
    },
    {
      provide: EventHistory,
      inject: [PostgresEventStore],
      useFactory: (events: PostgresEventStore) => new PostgresEventHistory(events),
    },
  ],
  exports: [DataSource, PostgresEventStore, EventHistory],
})
export class PostgresModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PostgresModule.name);
  private retry: NodeJS.Timeout | undefined;

  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    try {
      await this.db.initialize();
    } catch (error) {
      this.logger.warn(`postgres not reachable: ${error instanceof Error ? error.message : String(error)}; retrying`);
      this.retry = setTimeout(() => void this.connect(), 1000);
      this.retry.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    if (this.db.isInitialized) await this.db.destroy();
  }
}
