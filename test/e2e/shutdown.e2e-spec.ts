import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { buildService } from '../observability/support/built-service';
import { mapLimit } from '../support/event-store-checks';
import { HealthClient, readiness } from '../support/health-client';
import { deleteTopic } from '../support/kafka-reader';
import { uid } from '../support/ledger-app';
import { LedgerClient } from '../support/ledger-client';
import { money } from '../support/ledger-expect';
import { TestDatabase } from '../support/pg';
import { PrivateRedis } from '../support/redis-server';
import { ServiceProcess } from '../support/service-process';
import { acknowledged, BUSINESS_REJECTS, type Outcome, Workload } from '../support/workload';

const DELAY_MS = 1500;
const DRAIN_MS = 5000;
const TIMEOUT_MS = 15_000;

/**
 * SIGTERM under load, as Kubernetes stops a pod: health goes NOT_SERVING and /health/ready fails
 * at once while calls are still served; after the delay new calls are refused (UNAVAILABLE, safe
 * to retry elsewhere); calls in flight finish; the relay and publisher flush (outbox and Kafka
 * queue empty); the process is gone within the bound; every answered call is stored.
 */
describe('graceful shutdown under load', () => {
  let redis: PrivateRedis;
  let direct: Redis;
  let db: TestDatabase;
  let topic: string;
  let service: ServiceProcess;
  let client: LedgerClient;
  let health: HealthClient;

  beforeAll(async () => {
    buildService();
    redis = await PrivateRedis.start();
    direct = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    db = await TestDatabase.create();
    topic = `ledger.test.${uid('t')}`;
    service = await ServiceProcess.onFreePorts({
      LEDGER_REDIS_URL: redis.url,
      LEDGER_DATABASE_URL: db.url,
      LEDGER_KAFKA_TOPIC: topic,
      LEDGER_SHUTDOWN_DELAY_MS: String(DELAY_MS),
      LEDGER_SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
      LEDGER_SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
      LOG_LEVEL: 'info',
      OTEL_SDK_DISABLED: 'true',
    });
    await service.start();
    if (!(await service.ready(30_000))) throw new Error(`not ready: ${service.stderr}`);
    client = new LedgerClient(service.grpcAddress);
    health = new HealthClient(service.grpcAddress);
  }, 240_000);

  afterAll(async () => {
    client?.close();
    health?.close();
    await service?.stop();
    direct?.disconnect();
    await redis?.stop();
    await db?.drop();
    if (topic) await deleteTopic(topic);
  }, 60_000);

  it('NOT_SERVING first, then refuses new calls, finishes in-flight ones, flushes, exits within the bound', async () => {
    const accounts = Array.from({ length: 20 }, () => ({ accountId: uid('sd'), currency: 'USD' }));
    await mapLimit(accounts, 5, async ({ accountId }) => {
      await client.call('OpenAccount', { accountId, currency: 'USD' });
      await client.call('Deposit', { transactionId: uid('fund'), accountId, amount: money('1000.00') });
    });
    let stop = false;
    const workload = new Workload(client, {
      accounts,
      seed: 7,
      concurrency: 16,
      stop: () => stop,
      timeoutMs: 10_000,
      backoffAfterUnavailableMs: 50,
    });
    const running = workload.run();
    await sleep(2000);

    // Health as a load balancer sees it, every 50 ms, from just before SIGTERM.
    const seen: { atMs: number; http: number; grpc: string }[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const at = Date.now();
        const [http, grpc] = await Promise.all([
          readiness(service.httpUrl).then(
            (r) => r.code,
            () => 0,
          ),
          health.check().catch(() => 'UNREACHABLE'),
        ]);
        seen.push({ atMs: at, http, grpc });
        await sleep(50);
      }
    })();
    await sleep(200);
    const termAt = Date.now();
    await service.stop(); // SIGTERM, waits for the exit
    const exitedAt = Date.now();
    await sleep(1000); // clients keep calling the address for a moment
    stop = true;
    watching = false;
    await watcher;
    const outcomes: Outcome[] = await running;

    // 1. Readiness failed first, within moments, while calls were still being served.
    const firstDown = seen.find((s) => s.atMs >= termAt && (s.http === 503 || s.grpc === 'NOT_SERVING'));
    expect(firstDown).toBeDefined();
    expect((firstDown?.atMs ?? Infinity) - termAt).toBeLessThan(500);
    // Once down it stays down. A probe sent in the same moment as SIGTERM may still be answered 200:
    // the server's event loop can read that request before it runs the signal handler.
    const downAt = firstDown?.atMs ?? Infinity;
    expect(seen.filter((s) => s.atMs > downAt && (s.http === 200 || s.grpc === 'SERVING'))).toEqual([]);
    const servedAfterDown = outcomes.filter((o) => o.reply && o.startedMs > downAt + 100);
    expect(servedAfterDown.length).toBeGreaterThan(0);

    // 2. Calls started before new ones were refused all got their answer (none cancelled).
    const beforeRefusal = outcomes.filter((o) => o.startedMs < termAt + DELAY_MS - 200);
    expect(
      beforeRefusal
        .filter((o) => o.error && !BUSINESS_REJECTS.has(o.error.reason ?? ''))
        .map((o) => `${o.op.method} started ${o.startedMs - termAt} ms after SIGTERM: ${o.error?.message}`),
    ).toEqual([]);
    // 3. Calls after it were refused as UNAVAILABLE (retriable elsewhere), never INTERNAL.
    const afterRefusal = outcomes.filter((o) => o.startedMs > termAt + DELAY_MS + 500);
    expect(afterRefusal.length).toBeGreaterThan(0);
    expect(
      afterRefusal.filter((o) => o.error?.code !== status.UNAVAILABLE).map((o) => o.error?.message ?? 'OK'),
    ).toEqual([]);

    // 4. Gone within the bound, having flushed the relay and the publisher.
    expect(exitedAt - termAt).toBeLessThan(TIMEOUT_MS);
    const pipeline = direct.pipeline();
    for (let b = 0; b < 16; b++) pipeline.xlen(`ledger:{b${b}}:outbox`);
    const lengths = ((await pipeline.exec()) ?? []).map(([, n]) => Number(n));
    expect({ outbox: lengths.reduce((a, b) => a + b, 0), kafkaQueue: await db.kafkaBacklog() }).toEqual({
      outbox: 0,
      kafkaQueue: 0,
    });
    const lines = service.lines.map((l) => JSON.parse(l) as { msg: string; level: string });
    expect(lines.filter((l) => /drained and flushed in [0-9]+ ms/.test(l.msg)).map((l) => l.level)).toEqual(['info']);

    // 5. Every answered call is stored (durable acks).
    const problems: string[] = [];
    for (const o of outcomes) {
      for (const [accountId, version, ref] of acknowledged(o)) {
        const rows = await db.query<{ ref: string }>(
          `SELECT reference_id AS ref FROM ledger_events WHERE account_id = $1 AND version = $2`,
          [accountId, version],
        );
        if (rows[0]?.ref !== ref)
          problems.push(`${o.op.method} ${ref}: answered as v${version}, stored: ${rows[0]?.ref}`);
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
