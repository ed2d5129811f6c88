import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { HealthImplementation } from 'grpc-health-check';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config/config';
import { LEDGER_CONFIG } from '../config/config.module';
import { REDIS_CLIENT } from '../infrastructure/redis/redis.module';
import { GRPC_HEALTH, LEDGER_SERVICE } from './grpc-health';

/** How often Postgres is probed (durable mode), and the bound on one probe. */
const POSTGRES_PROBE_MS = 1000;

export interface ReadinessStatus {
  ready: boolean;
  redis: string;
  /** "ok" / "down", or "not needed" in fast mode (answers do not wait for it) */
  postgres: 'ok' | 'down' | 'not needed';
  draining: boolean;
}

/**
 * Whether this instance should get calls: Redis connected, Postgres answering when the ack mode
 * waits for it (durable: with Postgres down every write would time out), and not shutting down.
 * One answer for both faces: grpc.health.v1 (SERVING / NOT_SERVING, for '' and the ledger
 * service) and HTTP /health/ready. Postgres is probed in the background, so a readiness check
 * costs nothing and cannot hang.
 */
@Injectable()
export class Readiness implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Readiness.name);
  private readonly needsPostgres: boolean;
  /** undefined until the first probe */
  private postgresOk: boolean | undefined;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  private reported: boolean | undefined;

  constructor(
    @Inject(GRPC_HEALTH) private readonly health: HealthImplementation,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
  ) {
    this.needsPostgres = config.eventStore.ackMode === 'durable';
  }

  onApplicationBootstrap(): void {
    const report = (): void => this.report();
    this.redis.on('ready', report);
    this.redis.on('close', report);
    this.redis.on('end', report);
    if (this.needsPostgres) {
      this.timer = setInterval(() => void this.probePostgres(), POSTGRES_PROBE_MS);
      this.timer.unref();
      void this.probePostgres();
    }
    this.report();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  status(): ReadinessStatus {
    const redis = this.redis.status;
    const postgres = this.needsPostgres ? (this.postgresOk === true ? 'ok' : 'down') : 'not needed';
    return {
      ready: !this.draining && redis === 'ready' && postgres !== 'down',
      redis,
      postgres,
      draining: this.draining,
    };
  }

  /** SIGTERM: NOT_SERVING from now on, before anything else of the shutdown happens. */
  beginDraining(): void {
    this.draining = true;
    this.report();
  }

  private async probePostgres(): Promise<void> {
    let ok = false;
    if (this.db.isInitialized) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, POSTGRES_PROBE_MS);
      });
      ok = await Promise.race([
        this.db.query('SELECT 1').then(
          () => true,
          () => false,
        ),
        timeout.then(() => false),
      ]);
      clearTimeout(timer);
    }
    if (ok !== this.postgresOk) {
      if (!ok) this.logger.warn('postgres does not answer: not ready (durable calls would time out)');
      else if (this.postgresOk === false) this.logger.log('postgres answers again: ready');
      this.postgresOk = ok;
    }
    this.report();
  }

  private report(): void {
    const ready = this.status().ready;
    if (ready === this.reported) return;
    this.reported = ready;
    const status = ready ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', status);
    this.health.setStatus(LEDGER_SERVICE, status);
  }
}
