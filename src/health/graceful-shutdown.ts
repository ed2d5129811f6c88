import { setTimeout as sleep } from 'node:timers/promises';
import type { Server } from '@grpc/grpc-js';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config/config';
import { LEDGER_CONFIG } from '../config/config.module';
import type { GrpcServerRef } from '../infrastructure/grpc/grpc-server';
import { REDIS_CLIENT } from '../infrastructure/redis/redis.module';
import { RedisKeys } from '../infrastructure/redis/redis-keys';
import { Readiness } from './readiness';

/** DI token of the GrpcServerRef bootstrap.ts fills. */
export const GRPC_SERVER_REF = Symbol('GRPC_SERVER_REF');

/** Kept from the shutdown bound for what follows the flush: stopping the relay and publisher, closing connections. */
const CLOSE_RESERVE_MS = 3000;

/**
 * Closes a grpc-js server: no new calls from now on, in-flight ones finish; those still running
 * after `drainMs` are cancelled. Resolves true when everything finished by itself.
 */
export async function closeGrpcServer(server: Server | undefined, drainMs: number): Promise<boolean> {
  if (!server) return true;
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    new Promise<boolean>((resolve) => server.tryShutdown(() => resolve(true))),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), drainMs);
    }),
  ]);
  clearTimeout(timer);
  if (!drained) server.forceShutdown();
  return drained;
}

/**
 * SIGTERM, in order, within LEDGER_SHUTDOWN_TIMEOUT_MS (default 25 s, below Kubernetes' 30 s):
 * 1. readiness fails at once (grpc.health.v1 NOT_SERVING, /health/ready 503);
 * 2. after LEDGER_SHUTDOWN_DELAY_MS (load balancers stop sending), the gRPC server refuses new
 *    calls and waits for the in-flight ones, at most LEDGER_SHUTDOWN_DRAIN_MS, then cancels the rest;
 * 3. with the workers here, the relay and publisher go on until the outbox and the Kafka queue
 *    are empty (or the bound, less a reserve for step 4, is reached);
 * 4. Nest's shutdown hooks stop the relay and publisher and close the connections.
 * A watchdog exits the process if all of it takes longer than the bound. A plain app.close()
 * (tests, tools) only does 1 and 2 without the delay.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private readonly keys: RedisKeys;

  constructor(
    private readonly readiness: Readiness,
    @Inject(GRPC_SERVER_REF) private readonly grpc: GrpcServerRef,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {
    this.keys = new RedisKeys(config.ledger.buckets);
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const started = Date.now();
    const { timeoutMs, delayMs, drainMs } = this.config.shutdown;
    if (signal) this.watchdog(timeoutMs, signal);
    this.readiness.beginDraining();
    if (signal) {
      this.logger.log(`${signal}: NOT_SERVING; new calls refused in ${delayMs} ms, shutdown bound ${timeoutMs} ms`);
      await sleep(delayMs);
    }
    const drained = await closeGrpcServer(this.grpc.server, drainMs);
    if (!drained) this.logger.warn(`calls still running after ${drainMs} ms were cancelled`);
    if (!signal || !this.config.eventStore.workers) return;
    const left = await this.flush(started + timeoutMs - CLOSE_RESERVE_MS);
    const took = Date.now() - started;
    if (left.outbox === 0 && left.kafkaQueue === 0) {
      this.logger.log(`drained and flushed in ${took} ms: outbox and Kafka queue empty`);
    } else {
      this.logger.warn(
        `stopping after ${took} ms with ${left.outbox} outbox and ${left.kafkaQueue} Kafka queue events left ` +
          '(they stay in Redis / Postgres for the next instance)',
      );
    }
  }

  private watchdog(timeoutMs: number, signal: string): void {
    setTimeout(() => {
      this.logger.error(`${signal}: shutdown not done within ${timeoutMs} ms (LEDGER_SHUTDOWN_TIMEOUT_MS); exiting`);
      process.exit(1);
    }, timeoutMs).unref();
  }

  /** Lets the relay and publisher run until nothing waits (or `deadline`); returns what is left (-1: unknown). */
  private async flush(deadline: number): Promise<{ outbox: number; kafkaQueue: number }> {
    for (;;) {
      const [outbox, kafkaQueue] = await Promise.all([this.outboxBacklog(), this.kafkaBacklog()]);
      if ((outbox === 0 && kafkaQueue === 0) || Date.now() >= deadline) return { outbox, kafkaQueue };
      await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
  }

  private async outboxBacklog(): Promise<number> {
    try {
      const pipeline = this.redis.pipeline();
      for (let b = 0; b < this.keys.buckets; b++) pipeline.xlen(this.keys.outboxOfBucket(b));
      const replies = (await pipeline.exec()) ?? [];
      return replies.some(([error]) => error) ? -1 : replies.reduce((sum, [, n]) => sum + Number(n), 0);
    } catch {
      return -1;
    }
  }

  private async kafkaBacklog(): Promise<number> {
    try {
      if (!this.db.isInitialized) return -1;
      // Stored but not yet acknowledged by Kafka: after the publisher's watermark.
      const rows = (await this.db.query(
        `SELECT count(*)::int AS n FROM ledger_events WHERE global_seq > (SELECT published_seq FROM ledger_kafka_watermark)`,
      )) as { n: number }[];
      return rows[0]?.n ?? 0;
    } catch {
      return -1;
    }
  }
}
