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
import { LOCK_WAITS_SQL, PostgresTelemetry } from '../observability/persistence-telemetry';
import { createDataSource } from './data-source';
import { PostgresEventHistory } from './postgres-event-history';
import { PostgresEventStore } from './postgres-event-store';

/** The pg pool behind TypeORM (its driver's `master`), for pool metrics. */
function poolState(db: DataSource): { total: number; idle: number; waiting: number } {
  const pool = db.isInitialized
    ? ((db.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master ??
      undefined)
    : undefined;
  return { total: pool?.totalCount ?? 0, idle: pool?.idleCount ?? 0, waiting: pool?.waitingCount ?? 0 };
}

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
      inject: [DataSource, { token: PostgresTelemetry, optional: true }],
      useFactory: (db: DataSource, telemetry?: PostgresTelemetry) => {
        if (telemetry) {
          telemetry.samplePool(() => poolState(db));
          telemetry.sampleLockWaits(async () => {
            if (!db.isInitialized) return 0;
            const rows = (await db.query(LOCK_WAITS_SQL)) as { waiting: number }[];
            return rows[0]?.waiting ?? 0;
          });
        }
        return new PostgresEventStore(db, (operation, seconds, ok) => telemetry?.query(operation, seconds, ok));
      },
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

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly events: PostgresEventStore,
  ) {}

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
    // The relay's connection, if it is still out (the pool waits for every connection it lent).
    this.events.closeAppender();
    if (this.db.isInitialized) await this.db.destroy();
  }
}
