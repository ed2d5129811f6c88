import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig } from '../../../src/config/config';
import { createDataSource } from '../../../src/infrastructure/postgres/data-source';
import { PrivateRedis } from '../../support/redis-server';

/**
 * What one observability test file runs against, apart from everything else: its own
 * redis-server, its own freshly migrated database on the stack's Postgres, its own Kafka topic.
 * So the numbers it asserts (outbox backlog, relay, scripts) are its own, and no other test's
 * data or schema state leaks in.
 */
export class PrivateStack {
  private constructor(
    readonly redis: PrivateRedis,
    readonly databaseUrl: string,
    readonly topic: string,
    private readonly adminUrl: string,
    private readonly database: string,
  ) {}

  static async start(): Promise<PrivateStack> {
    const base = loadConfig(process.env).postgres;
    const suffix = randomBytes(4).toString('hex');
    const database = `ledger_obs_${suffix}`;
    const admin = new Client({ connectionString: base.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database}`);
    } finally {
      await admin.end();
    }
    const url = new URL(base.url);
    url.pathname = `/${database}`;
    const dataSource = createDataSource({ ...base, url: url.toString() });
    await dataSource.initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await dataSource.destroy();
    }
    const redis = await PrivateRedis.start();
    return new PrivateStack(redis, url.toString(), `ledger-obs-${suffix}`, base.url, database);
  }

  /** Environment overrides for an app (in-process or spawned) on this stack. */
  env(): Record<string, string> {
    return {
      LEDGER_REDIS_URL: this.redis.url,
      LEDGER_DATABASE_URL: this.databaseUrl,
      LEDGER_KAFKA_TOPIC: this.topic,
      LEDGER_KAFKA_PARTITIONS: '1',
    };
  }

  async stop(): Promise<void> {
    await this.redis.stop();
    const admin = new Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}
