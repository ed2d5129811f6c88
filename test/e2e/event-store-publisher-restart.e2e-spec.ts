import { BuiltService, buildService } from '../observability/support/built-service';
import { expectKafkaMatchesStore, expectRedisMatchesStore, mapLimit, storeState } from '../support/event-store-checks';
import { drained, type IsolatedLedger, pollUntil, startIsolatedLedger } from '../support/isolated-ledger';
import { readTopic } from '../support/kafka-reader';
import { freePort, type RunningLedger, startLedger, uid } from '../support/ledger-app';
import type { LedgerClient } from '../support/ledger-client';
import { money } from '../support/ledger-expect';
import { type Outcome, unexpectedFailures, Workload, type WorkloadAccount } from '../support/workload';

/**
 * Issue 8, item 3: the publisher keeps a watermark (ledger_kafka_watermark) instead of a queue
 * table, and publishes what the relay hands over in process. A publisher that dies after the
 * relay committed a batch and before Kafka acknowledged it must lose nothing: its successor
 * publishes from the watermark. Real Postgres, real Kafka (read back with kcat), the built
 * service killed with SIGKILL:
 * 1. a first service publishes everything: the watermark covers every stored event;
 * 2. a second service whose Kafka is unreachable (a port nobody listens on) takes the publisher
 *    lock, commits and durably acknowledges calls, hands the batches to its publisher, which
 *    cannot produce them; it is killed (SIGKILL);
 * 3. a third service publishes every event after the watermark: each stored event is on the topic
 *    once or more, in version order per account, and none the watermark covered is sent again;
 * 4. the same with a service killed at a random moment under load, Kafka reachable.
 */
const SEED = Number(process.env['LEDGER_TEST_SEED'] ?? Date.now() % 2 ** 31);
const PUBLISHER_LOCK = 7_320_001;

jest.setTimeout(180_000);

describe('event store: the publisher killed between the Postgres commit and the Kafka produce', () => {
  let iso: IsolatedLedger;
  let accounts: WorkloadAccount[] = [];
  let restarted: RunningLedger | undefined;
  const acknowledgedBefore = new Set<string>();

  /** The environment of a service on this suite's Redis, database and topic. */
  function env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      LEDGER_REDIS_URL: iso.redis.url,
      LEDGER_DATABASE_URL: iso.db.url,
      LEDGER_KAFKA_TOPIC: iso.topic,
      LEDGER_EXTRA_ASSETS: 'BTC:8',
      LEDGER_RELAY_LEASE_MS: '1000',
      LOG_LEVEL: 'silent',
      OTEL_SDK_DISABLED: 'true',
      ...overrides,
    };
  }

  async function publisherLocks(): Promise<number> {
    const rows = await iso.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND objid = $1 AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [PUBLISHER_LOCK],
    );
    return rows[0]?.n ?? 0;
  }

  async function storedIds(): Promise<string[]> {
    const rows = await iso.db.query<{ event_id: string }>(`SELECT event_id::text FROM ledger_events`);
    return rows.map((r) => r.event_id);
  }

  async function maxSeq(): Promise<number> {
    const rows = await iso.db.query<{ seq: string | null }>(`SELECT max(global_seq)::text AS seq FROM ledger_events`);
    return Number(rows[0]?.seq ?? 0);
  }

  function run(client: LedgerClient, seed: number, ops: number): Promise<Outcome[]> {
    return new Workload(client, { accounts, seed, concurrency: 16, ops }).run();
  }

  beforeAll(async () => {
    buildService();
    iso = await startIsolatedLedger({ LEDGER_RELAY_LEASE_MS: '1000' });
    accounts = Array.from({ length: 12 }, () => ({ accountId: uid('pub'), currency: 'USD' }));
    await mapLimit(accounts, 6, async ({ accountId }) => {
      await iso.ledger.client.call('OpenAccount', { accountId, currency: 'USD' });
      await iso.ledger.client.call('Deposit', { transactionId: uid('fund'), accountId, amount: money('1000.00') });
    });
  });

  afterAll(async () => {
    await restarted?.close().catch(() => undefined);
    await iso?.close();
  });

  it('1. a first service publishes everything it stores: the watermark reaches the newest event', async () => {
    const outcomes = await run(iso.ledger.client, SEED, 200);
    expect(unexpectedFailures(outcomes)).toEqual([]);
    await drained(iso);
    expect(await iso.db.kafkaWatermark()).toBe(await maxSeq());
    for (const id of await storedIds()) acknowledgedBefore.add(id);
    await iso.ledger.close();
  });

  it('2. a service whose publisher cannot reach Kafka stores and acknowledges calls, publishes none of them, and is killed', async () => {
    const watermark = await iso.db.kafkaWatermark();
    const deadBroker = `127.0.0.1:${await freePort()}`;
    const service = await BuiltService.start(
      env({ LEDGER_KAFKA_BROKERS: deadBroker, LEDGER_KAFKA_REQUEST_TIMEOUT_MS: '500' }),
    );
    try {
      const outcomes = await run(service.client, SEED + 1, 300);
      // Durable acknowledgements need Postgres only: every call went through.
      expect(unexpectedFailures(outcomes)).toEqual([]);
      // Committed, handed over to the publisher, which holds the lock and cannot produce.
      expect(await publisherLocks()).toBe(1);
      expect(await iso.db.kafkaBacklog()).toBeGreaterThanOrEqual(300);
      expect(await iso.db.kafkaWatermark()).toBe(watermark);
    } finally {
      await service.kill();
    }
    // Its connection died with it, and the lock with the connection.
    await pollUntil('publisher lock free', async () => ((await publisherLocks()) === 0 ? true : undefined));
    expect(await iso.db.kafkaWatermark()).toBe(watermark);
  });

  it('3. restarted: every stored event reaches Kafka once or more, in order per account; none the watermark covered is sent again', async () => {
    restarted = await startLedger(env());
    await pollUntil('watermark at the newest event', async () =>
      (await iso.db.kafkaBacklog()) === 0 ? true : undefined,
    );
    const state = await storeState(
      iso,
      accounts.map((a) => a.accountId),
    );
    await expectRedisMatchesStore(restarted.client, state);
    await expectKafkaMatchesStore(iso, state);
    const copies = new Map<string, number>();
    for (const r of await readTopic(iso.topic)) copies.set(r.event.eventId, (copies.get(r.event.eventId) ?? 0) + 1);
    expect([...acknowledgedBefore].filter((id) => copies.get(id) !== 1)).toEqual([]);
    await restarted.close();
    restarted = undefined;
  });

  it('4. killed at a random moment under load (Kafka reachable): restarted, nothing stored is missing from Kafka, order per account kept', async () => {
    const service = await BuiltService.start(env());
    let killed = false;
    const workload = new Workload(service.client, {
      accounts,
      seed: SEED + 2,
      concurrency: 16,
      stop: () => killed,
      timeoutMs: 5000,
    });
    const running = workload.run();
    await pollUntil('load under way', async () => (workload.outcomes.length >= 150 + (SEED % 200) ? true : undefined));
    killed = true; // no new call from here; those in flight fail with the process
    await service.kill();
    await running;
    restarted = await startLedger(env());
    await drained(iso, 60_000);
    const state = await storeState(
      iso,
      accounts.map((a) => a.accountId),
    );
    await expectRedisMatchesStore(restarted.client, state);
    await expectKafkaMatchesStore(iso, state);
  });
});
