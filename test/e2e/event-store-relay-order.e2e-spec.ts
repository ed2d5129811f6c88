import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import type { OutboxEvent } from '../../src/infrastructure/outbox/outbox-entry';
import { OutboxRelay, RELAY_GROUP } from '../../src/infrastructure/outbox/outbox-relay';
import { EventStoreMismatchError, RelayLeaderLease } from '../../src/infrastructure/outbox/relay-leader';
import { createDataSource } from '../../src/infrastructure/postgres/data-source';
import { PostgresEventStore } from '../../src/infrastructure/postgres/postgres-event-store';
import { pollUntil } from '../support/isolated-ledger';
import { uid } from '../support/ledger-app';
import { TestDatabase } from '../support/pg';
import { PrivateRedis } from '../support/redis-server';

/**
 * Issue 8, item 3: the Kafka publisher's watermark is a global_seq, so global_seq must follow
 * commit order (a smaller one committing after a larger one would be skipped for good), and each
 * account's events must get their global_seq in version order. Against real Postgres and Redis:
 * - two appenders at once (two relays for a moment): the second waits for the first to commit,
 *   and all its global_seqs are larger; a re-delivered batch inserts nothing and says so;
 * - the relay's read is atomic with its lease: an instance that lost the lease reads nothing
 *   new (it cannot take entries the leader has not seen yet);
 * - a new leader stores everything its predecessor left pending, over several rounds if need
 *   be, before anything newer.
 */
function outboxEvent(accountId: string, version: number, over: Partial<OutboxEvent> = {}): OutboxEvent {
  return {
    eventId: randomUUID(),
    accountId,
    version,
    type: version === 1 ? 'ACCOUNT_OPENED' : 'FUNDS_DEPOSITED',
    occurredAtMs: Date.now(),
    currency: 'USD',
    amount: version === 1 ? 0n : 100n,
    balanceAfter: BigInt((version - 1) * 100),
    heldAfter: 0n,
    referenceId: `ref-${version}`,
    reservationId: '',
    counterpartyAccountId: '',
    metadata: {},
    details: version === 1 ? { overdraftLimit: 0n } : {},
    traceparent: '',
    idempotencyKey: `deposit:${accountId}-${version}`,
    requestHash: `h-${version}`,
    ...over,
  };
}

/** The stream fields lua/lib/prelude.lua's emit writes for an event. */
function entryFields(e: OutboxEvent): string[] {
  return [
    ...['id', e.eventId, 'acct', e.accountId, 'ver', String(e.version), 'type', e.type],
    ...['ts', String(e.occurredAtMs), 'cur', e.currency, 'amt', String(e.amount), 'bal', String(e.balanceAfter)],
    ...['held', String(e.heldAfter), 'ref', e.referenceId, 'res', '', 'cp', '', 'meta', '{}'],
    ...[
      'x',
      e.version === 1 ? '{"overdraft_limit":"0"}' : '{}',
      'tp',
      '',
      'ikey',
      e.idempotencyKey,
      'h',
      e.requestHash,
    ],
  ];
}

jest.setTimeout(60_000);

describe('event store: global_seq follows commit order and each account version order', () => {
  let db: TestDatabase;
  const opened: [DataSource, PostgresEventStore][] = [];

  async function eventStore(): Promise<PostgresEventStore> {
    const source = createDataSource(loadConfig({ ...process.env, LEDGER_DATABASE_URL: db.url }).postgres);
    await source.initialize();
    const store = new PostgresEventStore(source);
    opened.push([source, store]);
    return store;
  }

  beforeAll(async () => {
    db = await TestDatabase.create();
  });

  afterAll(async () => {
    for (const [source, store] of opened) {
      store.closeAppender(); // the pool waits for every connection it lent
      await source.destroy().catch(() => undefined);
    }
    await db?.drop();
  });

  it('two appenders at once: the second waits for the first to commit, then draws only larger global_seqs', async () => {
    const [first, second] = [await eventStore(), await eventStore()];
    const [x, y] = [uid('ord-x'), uid('ord-y')];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let checking = false;
    const a = first.append([outboxEvent(x, 1), outboxEvent(x, 2)], async () => {
      checking = true;
      await held; // inserted, not committed: the append lock is held
      return true;
    });
    await pollUntil('first batch inserted', async () => (checking ? true : undefined));
    let secondDone = false;
    const b = second.append([outboxEvent(y, 1)]).then((r) => {
      secondDone = true;
      return r;
    });
    await pollUntil('second appender waiting on the append lock', async () => {
      const rows = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'advisory'`,
        [db.name],
      );
      return rows[0]?.n === 1 ? true : undefined;
    });
    await sleep(200);
    expect(secondDone).toBe(false);
    expect(await db.query(`SELECT 1 FROM ledger_events`)).toEqual([]);
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.committed.events.map((e) => e.event.version)).toEqual([1, 2]);
    expect(rb.committed.afterSeq).toBe(ra.committed.lastSeq);
    expect(rb.committed.events[0]!.seq).toBeGreaterThan(ra.committed.lastSeq);
    // A re-delivered batch inserts nothing: its place is where the store already stood.
    const again = await second.append([outboxEvent(x, 1, { eventId: ra.committed.events[0]!.event.eventId })]);
    expect(again).toMatchObject({ inserted: 0, duplicates: 1, conflicts: [] });
    expect(again.committed).toEqual({ afterSeq: rb.committed.lastSeq, lastSeq: rb.committed.lastSeq, events: [] });
  });

  it('one statement stores the events and one idempotency record per (key, account), with the last version', async () => {
    const store = await eventStore();
    const [p, q] = [uid('idem-p'), uid('idem-q')];
    const result = await store.append([
      outboxEvent(p, 1, { idempotencyKey: `open:${p}` }),
      outboxEvent(q, 1, { idempotencyKey: `open:${q}` }),
      // A final commit: two events under one key on one account.
      outboxEvent(p, 2, { idempotencyKey: 'commit:r1:c1', requestHash: 'hc' }),
      outboxEvent(p, 3, { idempotencyKey: 'commit:r1:c1', requestHash: 'hc' }),
      // A transfer: one event on each of two accounts under one key.
      outboxEvent(p, 4, { idempotencyKey: 'transfer:t1', requestHash: 'ht' }),
      outboxEvent(q, 2, { idempotencyKey: 'transfer:t1', requestHash: 'ht' }),
      // No id (an expiry): no record.
      outboxEvent(q, 3, { idempotencyKey: 'expire:x', requestHash: '' }),
    ]);
    expect(result.inserted).toBe(7);
    const records = await db.query<{ idempotency_key: string; account_id: string; version: string }>(
      `SELECT idempotency_key, account_id, version::text FROM ledger_idempotency
        WHERE account_id = ANY($1::text[]) ORDER BY idempotency_key, account_id`,
      [[p, q]],
    );
    expect(records.map((r) => [r.idempotency_key, r.account_id, Number(r.version)])).toEqual(
      [
        ['commit:r1:c1', p, 3],
        [`open:${p}`, p, 1],
        [`open:${q}`, q, 1],
        ['transfer:t1', p, 4],
        ['transfer:t1', q, 2],
      ].sort((l, r) => String(l[0]).localeCompare(String(r[0])) || String(l[1]).localeCompare(String(r[1]))),
    );
    // Versions of one account in global_seq order.
    const seqs = result.committed.events.filter((e) => e.event.accountId === p).map((e) => e.event.version);
    expect(seqs).toEqual([1, 2, 3, 4]);
    // A version another event holds: a conflict, kept for an operator, not stored.
    const clash = await store.append([outboxEvent(q, 3)]);
    expect(clash.conflicts).toHaveLength(1);
    expect(clash.inserted).toBe(0);
    expect(await db.query(`SELECT 1 FROM ledger_event_conflicts WHERE account_id = $1`, [q])).toHaveLength(1);
  });

  it('an appender closed and opened again (stop, then start) appends on a connection the pool kept', async () => {
    const store = await eventStore();
    const account = uid('reopen');
    expect((await store.append([outboxEvent(account, 1)])).inserted).toBe(1);
    store.closeAppender(); // the connection goes back to the pool with the batch statement prepared on it
    expect((await store.append([outboxEvent(account, 2)])).inserted).toBe(1);
    store.closeAppender();
    expect((await store.append([outboxEvent(account, 3)])).inserted).toBe(1);
  });

  it('the batch goes as literals: any text a caller sent is stored exactly as sent', async () => {
    const store = await eventStore();
    const account = uid('quote');
    const texts = [
      `'); DROP TABLE ledger_events; --`,
      'back\\slash \\\\ and "double" and \'single\' quotes',
      '{braces},[brackets], commas, NULL, null',
      'line\nbreak\ttab',
      'ünïcødé 漢字 🙂',
      '',
    ];
    const events = texts.map((text, i) =>
      outboxEvent(account, i + 1, { referenceId: text, metadata: { note: text, [text || 'empty']: 'key' } }),
    );
    const result = await store.append(events);
    expect(result.inserted).toBe(texts.length);
    const rows = await db.query<{ reference_id: string; metadata: { client: Record<string, string> } }>(
      `SELECT reference_id, metadata FROM ledger_events WHERE account_id = $1 ORDER BY version`,
      [account],
    );
    expect(rows.map((r) => r.reference_id)).toEqual(texts);
    expect(rows.map((r) => r.metadata.client)).toEqual(events.map((e) => e.metadata));
  });

  describe('the relay (one bucket, real Redis)', () => {
    let redis: PrivateRedis;
    let direct: Redis;
    const stream = 'ledger:{b0}:outbox';

    beforeAll(async () => {
      redis = await PrivateRedis.start();
      direct = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      await direct.xgroup('CREATE', stream, RELAY_GROUP, '0', 'MKSTREAM');
    });

    afterAll(async () => {
      direct?.disconnect();
      await redis?.stop();
    });

    it('reads only under its own lease, atomically: an instance that lost it takes nothing new', async () => {
      const storeId = randomUUID();
      const lease = new RelayLeaderLease(direct, 'me', 5000);
      const read = (): ReturnType<RelayLeaderLease['read']> =>
        lease.read(storeId, [stream], 10, RELAY_GROUP, new Map());
      await direct.set(RelayLeaderLease.KEY, 'someone-else', 'PX', 5000);
      await direct.xadd(stream, '*', 'n', '1');
      await direct.xadd(stream, '*', 'n', '2');
      expect(await read()).toEqual({ role: 'follower' });
      const pending = (await direct.xpending(stream, RELAY_GROUP)) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
      // Not even a free lease is taken by a read: a new leader takes over pending entries first.
      await direct.del(RelayLeaderLease.KEY);
      expect(await read()).toEqual({ role: 'follower' });
      expect(await lease.hold(storeId)).toBe(true);
      await direct.script('FLUSH'); // NOSCRIPT: read again with the source
      const led = await read();
      expect(led.role).toBe('leader');
      expect(led.role === 'leader' ? led.reply[0]?.[1].map((e) => e[1]) : []).toEqual([
        ['n', '1'],
        ['n', '2'],
      ]);
      expect(await direct.pttl(RelayLeaderLease.KEY)).toBeGreaterThan(4000);
      await direct.set(RelayLeaderLease.IDENTITY_KEY, randomUUID());
      await expect(read()).rejects.toBeInstanceOf(EventStoreMismatchError);
      await direct.del(RelayLeaderLease.KEY, RelayLeaderLease.IDENTITY_KEY);
      await direct.xtrim(stream, 'MAXLEN', 0);
      await direct.xgroup('DESTROY', stream, RELAY_GROUP);
      await direct.xgroup('CREATE', stream, RELAY_GROUP, '0', 'MKSTREAM');
    });

    it('acknowledges and deletes stored entries in the read itself, leader or not; stillHolds sees them go', async () => {
      const storeId = randomUUID();
      const lease = new RelayLeaderLease(direct, 'acker', 5000);
      const other = 'ledger:{b1}:outbox';
      await direct.xgroup('CREATE', other, RELAY_GROUP, '0', 'MKSTREAM');
      const a1 = (await direct.xadd(stream, '*', 'n', '1')) as string;
      const a2 = (await direct.xadd(stream, '*', 'n', '2')) as string;
      const b1 = (await direct.xadd(other, '*', 'n', '3')) as string;
      expect(await lease.hold(storeId)).toBe(true);
      const first = await lease.read(storeId, [stream, other], 10, RELAY_GROUP, new Map());
      expect(first.role === 'leader' ? first.reply.flatMap(([, entries]) => entries.map(([id]) => id)) : []).toEqual([
        a1,
        a2,
        b1,
      ]);
      const firstIds = new Map([
        [stream, a1],
        [other, b1],
      ]);
      expect(await lease.stillHolds(firstIds)).toBe(true);
      // Another instance leads now: the acknowledgements are still taken (the entries are stored).
      await direct.set(RelayLeaderLease.KEY, 'someone-else', 'PX', 5000);
      const acks = new Map([
        [stream, [a1, a2]],
        [other, [b1]],
      ]);
      expect(await lease.read(storeId, [stream, other], 10, RELAY_GROUP, acks)).toEqual({ role: 'follower' });
      expect(await direct.xlen(stream)).toBe(0);
      expect(await direct.xlen(other)).toBe(0);
      expect(((await direct.xpending(stream, RELAY_GROUP)) as [number])[0]).toBe(0);
      expect(((await direct.xpending(other, RELAY_GROUP)) as [number])[0]).toBe(0);
      expect(await lease.stillHolds(firstIds)).toBe(false);
      expect(await lease.stillHolds(new Map([[stream, a1]]))).toBe(false);
      // Scripts flushed (Redis restarted): both run from their source.
      await direct.script('FLUSH');
      expect(await lease.stillHolds(new Map())).toBe(true);
      const c1 = (await direct.xadd(other, '*', 'n', '4')) as string;
      expect(await lease.stillHolds(new Map([[other, c1]]))).toBe(true);
      expect(await lease.read(storeId, [stream, other], 10, RELAY_GROUP, new Map([[other, [c1]]]))).toEqual({
        role: 'follower',
      });
      expect(await direct.xlen(other)).toBe(0);
      // Without a read (a relay stopping, or its backlog of acknowledgements at the bound).
      const d1 = (await direct.xadd(other, '*', 'n', '5')) as string;
      await lease.acknowledge(RELAY_GROUP, new Map([[other, [d1]]]));
      expect(await direct.xlen(other)).toBe(0);
      await direct.del(RelayLeaderLease.KEY, RelayLeaderLease.IDENTITY_KEY, other);
    });

    it('a new leader stores what its predecessor left pending (several rounds of it) before anything newer', async () => {
      const accountId = uid('takeover');
      const events = Array.from({ length: 35 }, (_, i) => outboxEvent(accountId, i + 1));
      for (const e of events.slice(0, 30)) await direct.xadd(stream, '*', ...entryFields(e));
      // A relay that died after reading 30 entries: pending under its name, never acknowledged.
      await direct.xreadgroup('GROUP', RELAY_GROUP, 'crashed', 'COUNT', 30, 'STREAMS', stream, '>');
      for (const e of events.slice(30)) await direct.xadd(stream, '*', ...entryFields(e));
      const store = await eventStore();
      const relayRedis = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      const relay = new OutboxRelay(
        relayRedis,
        store,
        {
          instanceId: 'next',
          buckets: 1,
          batchMax: 10,
          blockMs: 50,
          gatherMs: 0,
          leaseMs: 2000,
          retryBackoffMaxMs: 100,
        },
        () => undefined,
        {
          batch: () => undefined,
          failure: () => undefined,
          deadLetter: () => undefined,
          conflicts: () => undefined,
          redisReset: () => undefined,
          lost: () => undefined,
          leading: () => undefined,
          traced: (_events, append) => append(''),
        },
      );
      relay.start();
      try {
        await pollUntil('every entry stored and acknowledged', async () => {
          const stored = await db.query(`SELECT 1 FROM ledger_events WHERE account_id = $1`, [accountId]);
          return stored.length === 35 && (await direct.xlen(stream)) === 0 ? true : undefined;
        });
      } finally {
        await relay.stop();
        relayRedis.disconnect();
      }
      const rows = await db.query<{ version: string }>(
        `SELECT version::text FROM ledger_events WHERE account_id = $1 ORDER BY global_seq`,
        [accountId],
      );
      expect(rows.map((r) => Number(r.version))).toEqual(events.map((e) => e.version));
      const pending = (await direct.xpending(stream, RELAY_GROUP)) as [number, ...unknown[]];
      expect(pending[0]).toBe(0);
    });

    it('group commit: events arriving while the relay gathers share one transaction; stop() does not wait it out', async () => {
      const GATHER_MS = 3000;
      const accountId = uid('gather');
      const events = Array.from({ length: 5 }, (_, i) => outboxEvent(accountId, i + 1));
      const reports: { sizes: number; atMs: number }[] = [];
      const store = await eventStore();
      const relayRedis = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      const relay = new OutboxRelay(
        relayRedis,
        store,
        {
          instanceId: 'gather',
          buckets: 1,
          batchMax: 10,
          blockMs: 50,
          gatherMs: GATHER_MS,
          leaseMs: 5000,
          retryBackoffMaxMs: 100,
        },
        ({ stored }) => reports.push({ sizes: stored.length, atMs: Date.now() }),
        {
          batch: () => undefined,
          failure: () => undefined,
          deadLetter: () => undefined,
          conflicts: () => undefined,
          redisReset: () => undefined,
          lost: () => undefined,
          leading: () => undefined,
          traced: (_events, append) => append(''),
        },
      );
      relay.start();
      try {
        // After an idle outbox the first event goes at once, alone.
        await direct.xadd(stream, '*', ...entryFields(events[0] as OutboxEvent));
        await pollUntil('the first event stored', async () => (reports.length === 1 ? true : undefined));
        // Three more, 100 ms apart: without the window each would be a round of its own.
        for (const e of events.slice(1, 4)) {
          await direct.xadd(stream, '*', ...entryFields(e));
          await sleep(100);
        }
        await pollUntil('four events stored', async () => (reports.length === 2 ? true : undefined), 10_000);
        expect(reports.map((r) => r.sizes)).toEqual([1, 3]);
        expect((reports[1]?.atMs ?? 0) - (reports[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(GATHER_MS / 2);
        // The window after the second round is not waited out by stop().
        await sleep(GATHER_MS + 100);
        await direct.xadd(stream, '*', ...entryFields(events[4] as OutboxEvent));
        await pollUntil('the fifth event stored', async () => (reports.length === 3 ? true : undefined));
      } finally {
        const stopAt = Date.now();
        await relay.stop();
        expect(Date.now() - stopAt).toBeLessThan(GATHER_MS / 2);
        relayRedis.disconnect();
      }
      const rows = await db.query<{ version: string }>(
        `SELECT version::text FROM ledger_events WHERE account_id = $1 ORDER BY global_seq`,
        [accountId],
      );
      expect(rows.map((r) => Number(r.version))).toEqual([1, 2, 3, 4, 5]);
      expect(await direct.xlen(stream)).toBe(0);
    });
  });
});
