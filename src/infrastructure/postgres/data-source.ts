import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { EventStore1764201600000 } from '../../../migrations/1764201600000-EventStore';
import { KafkaQueueVacuum1764806400000 } from '../../../migrations/1764806400000-KafkaQueueVacuum';
import { StoreIdentity1764892800000 } from '../../../migrations/1764892800000-StoreIdentity';
import { KafkaWatermark1764979200000 } from '../../../migrations/1764979200000-KafkaWatermark';

export interface PostgresOptions {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Every migration, in order. Listed here (not globbed) so that ts-jest and the build agree. */
export const MIGRATIONS = [
  EventStore1764201600000,
  KafkaQueueVacuum1764806400000,
  StoreIdentity1764892800000,
  KafkaWatermark1764979200000,
];

/**
 * The event store's connection pool. Schema changes happen only through migrations (never
 * `synchronize`); every query and connection wait is bounded.
 */
export function createDataSource(options: PostgresOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'ledger_migrations',
    logging: false,
    extra: {
      max: options.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'ledger',
    },
  });
}

/**
 * The pg pool under TypeORM, for statements that run on every call or batch (prepared once per
 * connection, without TypeORM's per-query work). Throws while the pool is not connected.
 */
export function pgPool(db: DataSource): Pool {
  const pool = db.isInitialized ? (db.driver as unknown as { master?: Pool }).master : undefined;
  if (!pool) throw new Error('the event store is not connected yet');
  return pool;
}
