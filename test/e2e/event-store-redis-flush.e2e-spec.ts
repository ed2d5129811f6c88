import { Client } from 'pg';
import {
  expectRedisMatchesStore,
  expectReservationsMatchStore,
  mapLimit,
  storeState,
} from '../support/event-store-checks';
import {
  drained,
  type IsolatedLedger,
  outboxBacklog,
  pollUntil,
  startIsolatedLedger,
} from '../support/isolated-ledger';
import { timestampMs } from '../support/kafka-reader';
import { uid } from '../support/ledger-app';
import { decodeError, type DecodedError, type Reply } from '../support/ledger-client';
import { money } from '../support/ledger-expect';
import {
  acknowledged,
  BUSINESS_REJECTS,
  type Op,
  type Outcome,
  replayProblems,
  unexpectedFailures,
  Workload,
  type WorkloadAccount,
} from '../support/workload';

/**
 * Issue 3, test 4: Redis loses everything (FLUSHALL) in the middle of a concurrent durable
 * workload, on a private Redis so that no other suite is touched. Afterwards: no acknowledged
 * event lost (every reply's version holds the call's own event in Postgres), balances rebuilt
 * (GetAccount == fold of Postgres), versions continue without gaps, active reservations from
 * before the flush are still committable and releasable (and expire), and replays of ids used
 * before the flush answer replayed=true with the original reply.
 *
 * The last test pins down, deterministically, what a flush does to calls whose events were
 * still on their way to Postgres: the relay is held on a table lock (SHARE: reads go on, its
 * INSERT waits) with one event in hand and another left in the outbox, then Redis is flushed.
 */
const SEED = Number(process.env['LEDGER_TEST_SEED'] ?? Date.now() % 2 ** 31);
const ACK_TIMEOUT_MS = 10_000;

describe('event store: Redis FLUSHALL mid-run loses no acknowledged event', () => {
  let iso: IsolatedLedger;
  beforeAll(async () => {
    iso = await startIsolatedLedger({ LEDGER_DURABLE_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS) });
  }, 60_000);
  afterAll(async () => {
    await iso?.close();
  }, 60_000);

  const call = (method: string, request: object): Promise<Reply> =>
    iso.ledger.client.call(method, request, undefined, 30_000);

  /** FLUSHALL, atomically with counting the events still in the outbox (lost with it). */
  async function flushAll(): Promise<number> {
    const multi = iso.direct.multi();
    for (let b = 0; b < iso.buckets; b++) multi.xlen(`ledger:{b${b}}:outbox`);
    multi.flushall();
    const replies = (await multi.exec()) ?? [];
    return replies.slice(0, iso.buckets).reduce((n, [, len]) => n + Number(len), 0);
  }

  /** Flushes once, at a moment when events are on their way to Postgres (bounded: 5 s of looking). */
  async function flushWithEventsInFlight(): Promise<number> {
    const deadline = Date.now() + 5000;
    while ((await outboxBacklog(iso)) === 0 && Date.now() < deadline);
    return flushAll();
  }

  let accounts: WorkloadAccount[] = [];
  /** an account nothing touches after the flush, with a hold that expires after it */
  let untouched = '';
  let expiring = '';
  let expiresAtMs = 0;
  /** holds from before the flush that stay active through it: [reservationId, remaining] */
  const held: [string, string][] = [];
  /** one call of every kind before the flush, for replays after it */
  const before: Outcome[] = [];
  /** every call that changed something, for the "nothing acknowledged is lost" check */
  const acked: Outcome[] = [];

  async function once(op: Omit<Op, 'amountMinor' | 'final' | 'currency'> & { final?: boolean }): Promise<Outcome> {
    const started = Date.now();
    const reply = await call(op.method, op.request);
    const outcome: Outcome = {
      op: { ...op, currency: 'USD', amountMinor: 0n, final: op.final ?? false },
      reply,
      startedMs: started,
      latencyMs: Date.now() - started,
    };
    acked.push(outcome);
    return outcome;
  }

  it('before the flush: 30 funded accounts, holds that stay active, one call of every kind', async () => {
    accounts = Array.from({ length: 30 }, () => ({ accountId: uid('fl'), currency: 'USD' }));
    await mapLimit(accounts, 10, async ({ accountId }) => {
      await once({
        kind: 'deposit',
        method: 'OpenAccount',
        request: { accountId, currency: 'USD' },
        ref: '',
        accounts: [accountId],
      });
      const ref = uid('fund');
      await once({
        kind: 'deposit',
        method: 'Deposit',
        request: { transactionId: ref, accountId, amount: money('1000.00') },
        ref,
        accounts: [accountId],
      });
    });
    // Holds on accounts 0..9 that stay active through the flush, half of them partly committed.
    for (let i = 0; i < 10; i++) {
      const accountId = accounts[i]!.accountId;
      const reservationId = uid('hold');
      await once({
        kind: 'reserve',
        method: 'Reserve',
        request: {
          reservationId,
          accountId,
          amount: money('100.00'),
          orderId: `o${i}`,
          ttlSeconds: i % 2 === 0 ? 0 : 3600,
        },
        ref: reservationId,
        accounts: [accountId],
      });
      if (i % 2 === 1) {
        const commitId = uid('c');
        await once({
          kind: 'commit',
          method: 'CommitReservation',
          request: { reservationId, commitId, amount: money('30.00'), final: false },
          ref: commitId,
          accounts: [accountId],
        });
      }
      held.push([reservationId, i % 2 === 1 ? '70.00' : '100.00']);
    }
    // One call of every kind on accounts 11..14, kept for the replays.
    const [a, b, c] = [accounts[11]!.accountId, accounts[12]!.accountId, accounts[13]!.accountId];
    const ids = {
      dep: uid('dep'),
      wd: uid('wd'),
      tr: uid('tr'),
      r1: uid('r1'),
      am: uid('am'),
      c1: uid('c1'),
      c2: uid('c2'),
      r2: uid('r2'),
    };
    before.push(
      await once({
        kind: 'deposit',
        method: 'Deposit',
        request: { transactionId: ids.dep, accountId: a, amount: money('12.34') },
        ref: ids.dep,
        accounts: [a],
      }),
    );
    before.push(
      await once({
        kind: 'withdraw',
        method: 'Withdraw',
        request: { transactionId: ids.wd, accountId: a, amount: money('2.34') },
        ref: ids.wd,
        accounts: [a],
      }),
    );
    before.push(
      await once({
        kind: 'transfer',
        method: 'Transfer',
        request: { transactionId: ids.tr, fromAccountId: a, toAccountId: b, amount: money('10.00') },
        ref: ids.tr,
        accounts: [a, b],
      }),
    );
    before.push(
      await once({
        kind: 'reserve',
        method: 'Reserve',
        request: { reservationId: ids.r1, accountId: c, amount: money('50.00'), orderId: 'x', ttlSeconds: 0 },
        ref: ids.r1,
        accounts: [c],
      }),
    );
    before.push(
      await once({
        kind: 'amend',
        method: 'AmendReservation',
        request: { reservationId: ids.r1, amendId: ids.am, newAmount: money('60.00') },
        ref: ids.am,
        accounts: [c],
      }),
    );
    before.push(
      await once({
        kind: 'commit',
        method: 'CommitReservation',
        request: { reservationId: ids.r1, commitId: ids.c1, amount: money('5.00'), final: false },
        ref: ids.c1,
        accounts: [c],
      }),
    );
    before.push(
      await once({
        kind: 'commit',
        method: 'CommitReservation',
        request: { reservationId: ids.r1, commitId: ids.c2, amount: money('5.00'), final: true },
        ref: ids.c2,
        accounts: [c],
        final: true,
      }),
    );
    const r2 = await once({
      kind: 'reserve',
      method: 'Reserve',
      request: { reservationId: ids.r2, accountId: c, amount: money('7.00'), orderId: '', ttlSeconds: 0 },
      ref: ids.r2,
      accounts: [c],
    });
    before.push(r2);
    before.push(
      await once({
        kind: 'release',
        method: 'ReleaseReservation',
        request: { reservationId: ids.r2, reason: 'before flush' },
        ref: ids.r2,
        accounts: [c],
      }),
    );
    // Account 10: a hold that expires 8 s from now; nothing touches the account after the flush.
    untouched = accounts[10]!.accountId;
    expiring = uid('exp');
    const hold = await once({
      kind: 'reserve',
      method: 'Reserve',
      request: { reservationId: expiring, accountId: untouched, amount: money('40.00'), orderId: '', ttlSeconds: 8 },
      ref: expiring,
      accounts: [untouched],
    });
    expiresAtMs = timestampMs(hold.reply?.['reservation']['expiresAt']);
    await drained(iso);
  }, 60_000);

  let flushedAt = 0;
  let wiped = 0;
  let run: Outcome[] = [];

  it('FLUSHALL in the middle of 3,000 concurrent durable calls: only calls in flight at the flush may fail (UNAVAILABLE)', async () => {
    const workers = accounts.filter((a) => a.accountId !== untouched);
    let flushing: Promise<void> | undefined;
    let done = 0;
    const workload = new Workload(iso.ledger.client, {
      accounts: workers,
      seed: SEED,
      concurrency: 32,
      ops: 3000,
      replayShare: 0.05,
      afterReply: async () => {
        done++;
        if (done === 1200 && !flushing) {
          flushing = flushWithEventsInFlight().then((n) => {
            wiped = n;
            flushedAt = Date.now();
          });
        }
      },
    });
    run = await workload.run();
    await flushing;
    expect(flushedAt).toBeGreaterThan(0);
    const allowed = new Set([...BUSINESS_REJECTS, 'DEPENDENCY_UNAVAILABLE']);
    expect({ seed: SEED, unexpected: unexpectedFailures(run, allowed) }).toEqual({ seed: SEED, unexpected: [] });
    // Only a call already running when Redis was flushed may have lost its event and failed;
    // none may hang past the durable-ack bound.
    const unavailable = run.filter((o) => o.error?.reason === 'DEPENDENCY_UNAVAILABLE');
    expect(
      unavailable
        .filter((o) => o.startedMs > flushedAt)
        .map(
          (o) =>
            `${o.op.method} ${o.op.ref} (${o.latencyMs} ms, ${o.startedMs - flushedAt} ms after the flush): ${o.error?.message ?? ''}`,
        ),
    ).toEqual([]);
    expect(unavailable.length).toBeLessThanOrEqual(32);
    expect(
      run.filter((o) => o.latencyMs > ACK_TIMEOUT_MS + 3000).map((o) => `${o.op.method} ${o.latencyMs} ms`),
    ).toEqual([]);
    expect(replayProblems(run).slice(0, 5)).toEqual([]);
    // The flush really did catch events on their way to Postgres.
    expect(wiped).toBeGreaterThan(0);
  }, 180_000);

  it('a hold with a TTL on an account untouched since the flush still expires within 1 s of expires_at', async () => {
    // The flush came first (else this proves nothing).
    expect(flushedAt).toBeLessThan(expiresAtMs);
    const expiredAt = await pollUntil(
      `RESERVATION_EXPIRED of ${expiring} in Postgres`,
      async () => {
        const rows = await iso.db.query<{ ms: string }>(
          `SELECT (extract(epoch FROM occurred_at) * 1000)::bigint::text AS ms FROM ledger_events
            WHERE reservation_id = $1 AND type = 'RESERVATION_EXPIRED'`,
          [expiring],
        );
        return rows[0] ? Number(rows[0].ms) : undefined;
      },
      Math.max(0, expiresAtMs - Date.now()) + 3000,
    ).catch((error: unknown) => String(error));
    // Whatever happened, let the account settle before the next checks read it: touching it
    // rebuilds it (with its expiry entry), and the sweeper then expires the hold.
    await pollUntil(`${expiring} expired once its account is touched`, async () =>
      (await call('GetReservation', { reservationId: expiring })).reservation.status === 'RESERVATION_STATUS_EXPIRED'
        ? true
        : undefined,
    );
    expect(typeof expiredAt === 'number' && expiredAt - expiresAtMs <= 1000 ? 'expired in time' : expiredAt).toBe(
      'expired in time',
    );
  }, 30_000);

  it('nothing acknowledged is lost: every reply (before, during, after the flush) names its own stored event; versions gapless; Redis == fold(Postgres)', async () => {
    await drained(iso);
    const problems: string[] = [];
    for (const outcome of [...acked, ...run]) {
      for (const [accountId, version, ref] of acknowledged(outcome)) {
        if (outcome.op.method === 'OpenAccount') continue;
        const rows = await iso.db.query<{ ref: string }>(
          `SELECT reference_id AS ref FROM ledger_events WHERE account_id = $1 AND version = $2`,
          [accountId, version],
        );
        if (rows[0]?.ref !== ref)
          problems.push(
            `${outcome.op.method} ${ref}: acknowledged as ${accountId} v${version}, stored there: ${rows[0]?.ref ?? 'nothing'}`,
          );
      }
    }
    expect(problems).toEqual([]);
    const conflicts = await iso.db.query<{ account_id: string; version: string }>(
      `SELECT account_id, version::text FROM ledger_event_conflicts`,
    );
    expect(conflicts).toEqual([]);
    const state = await storeState(
      iso,
      accounts.map((a) => a.accountId),
    );
    await expectRedisMatchesStore(iso.ledger.client, state);
    await expectReservationsMatchStore(iso.ledger.client, state);
  }, 120_000);

  it('holds from before the flush are still committable and releasable', async () => {
    for (const [i, [reservationId, remaining]] of held.entries()) {
      const seen = await call('GetReservation', { reservationId });
      expect([reservationId, seen.reservation.status, seen.reservation.remaining]).toEqual([
        reservationId,
        'RESERVATION_STATUS_ACTIVE',
        remaining,
      ]);
      const committed = await call('CommitReservation', {
        reservationId,
        commitId: uid('c'),
        amount: money('10.00'),
        final: false,
      });
      expect(committed.reservation.status).toBe('RESERVATION_STATUS_ACTIVE');
      const end =
        i % 3 === 0
          ? await call('ReleaseReservation', { reservationId, reason: 'after flush' })
          : await call('CommitReservation', { reservationId, commitId: uid('c'), amount: money('5.00'), final: true });
      expect([reservationId, end.reservation.status, end.reservation.remaining]).toEqual([
        reservationId,
        'RESERVATION_STATUS_RELEASED',
        '0.00',
      ]);
    }
    await drained(iso);
    const state = await storeState(
      iso,
      accounts.slice(0, 10).map((a) => a.accountId),
    );
    await expectRedisMatchesStore(iso.ledger.client, state);
  }, 60_000);

  it('replays of ids used before the flush answer replayed=true with the original reply', async () => {
    const replays: Outcome[] = [];
    for (const original of before) {
      const reply = await call(original.op.method, original.op.request);
      replays.push({ op: { ...original.op, replayOf: original }, reply, startedMs: 0, latencyMs: 0 });
    }
    expect(replays.map((r) => [r.op.method, r.reply?.['replayed']])).toEqual(before.map((b) => [b.op.method, true]));
    expect(replayProblems(replays)).toEqual([]);
  }, 30_000);

  it('a flush while the relay holds an unstored event and another waits in the outbox: no call acknowledged with a version that is not its event', async () => {
    const [A, B] = [uid('fa'), uid('fb')];
    for (const id of [A, B]) {
      await call('OpenAccount', { accountId: id, currency: 'USD' });
      await call('Deposit', { transactionId: uid('fund'), accountId: id, amount: money('100.00') });
    }
    await drained(iso);
    // Hold the relay's INSERT (SHARE conflicts with ROW EXCLUSIVE only: reads go on).
    const locker = new Client({ connectionString: iso.db.url });
    await locker.connect();
    const settle = (p: Promise<Reply>): Promise<{ reply?: Reply; error?: DecodedError }> =>
      p.then(
        (reply) => ({ reply }),
        (error: unknown) => ({ error: decodeError(error) }),
      );
    const ids = { d1: uid('d1'), e1: uid('e1'), d2: uid('d2'), e2: uid('e2') };
    const calls: Promise<{ reply?: Reply; error?: DecodedError }>[] = [];
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE ledger_events IN SHARE MODE');
      // D1 on A: the relay reads it and blocks storing it.
      calls.push(settle(call('Deposit', { transactionId: ids.d1, accountId: A, amount: money('1.00') })));
      await pollUntil('relay waiting on the lock', async () => {
        const rows = await iso.db.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [iso.db.name],
        );
        return Number(rows[0]?.n) > 0 ? true : undefined;
      });
      // E1 on B: applied in Redis, left in the outbox (the relay is busy with D1).
      calls.push(settle(call('Deposit', { transactionId: ids.e1, accountId: B, amount: money('2.00') })));
      await pollUntil('E1 applied in Redis', async () =>
        (await call('GetAccount', { accountId: B })).account.version === '3' ? true : undefined,
      );
      expect(await flushAll()).toBe(2);
      // After the flush: A and B are rebuilt from Postgres (both at v2) and take new calls. The
      // relay's statement waits for the table lock before it takes A's history lock, so A's rebuild
      // goes ahead (and the relay's batch, once it runs, finds its entries gone from Redis); should
      // a rebuild still time out on a slow machine, the call fails with DEPENDENCY_UNAVAILABLE,
      // which the contract says to retry with the same id: so does this.
      const retried = async (request: object): Promise<{ reply?: Reply; error?: DecodedError }> => {
        for (let attempt = 1; ; attempt++) {
          const outcome = await settle(call('Deposit', request));
          if (outcome.reply || outcome.error?.reason !== 'DEPENDENCY_UNAVAILABLE' || attempt === 4) return outcome;
        }
      };
      calls.push(retried({ transactionId: ids.d2, accountId: A, amount: money('4.00') }));
      calls.push(retried({ transactionId: ids.e2, accountId: B, amount: money('8.00') }));
      try {
        for (const id of [A, B]) {
          await pollUntil(`${id} at v3 again`, async () =>
            (await call('GetAccount', { accountId: id })).account.version === '3' ? true : undefined,
          );
        }
      } catch (error) {
        // Say how far the four calls got, so that a failure here can be told apart.
        const pending: { reply?: Reply; error?: DecodedError } = { error: { reason: 'still running' } as DecodedError };
        const states = await Promise.all(calls.map((c) => Promise.race([c, Promise.resolve(pending)])));
        const seen = states.map((o, i) =>
          o.reply ? `#${i + 1} v${String(o.reply['account']['version'])}` : `#${i + 1} ${o.error?.reason ?? '?'}`,
        );
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}; d1, e1, d2, e2: ${seen.join(', ')}`,
          { cause: error },
        );
      }
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    const [d1, e1, d2, e2] = await Promise.all(calls);
    await drained(iso);
    const stored = await iso.db.query<{ account_id: string; version: string; ref: string }>(
      `SELECT account_id, version::text, reference_id AS ref FROM ledger_events WHERE account_id = ANY($1::text[]) AND version >= 3 ORDER BY account_id, ledger_events.version`,
      [[A, B]],
    );
    const outcome = (name: string, account: string, o: { reply?: Reply; error?: DecodedError } | undefined): string => {
      if (!o?.reply) return `${name}: failed ${o?.error?.reason ?? '?'}`;
      const version = o.reply['account']['version'] as string;
      const there = stored.find((r) => r.account_id === account && r.version === version)?.ref;
      return `${name}: acknowledged v${version}, stored there ${there === ids[name as keyof typeof ids] ? 'itself' : (there ?? 'nothing')}`;
    };
    // D1 was applied before the flush and reached Postgres: acknowledged, itself at v3.
    // Every other call: either failed (safe to retry) or acknowledged at a version holding itself.
    const lines = [outcome('d1', A, d1), outcome('e1', B, e1), outcome('d2', A, d2), outcome('e2', B, e2)];
    expect(lines.filter((l) => !(l.endsWith('itself') || l.endsWith('DEPENDENCY_UNAVAILABLE')))).toEqual([]);
    expect(
      await iso.db.query(
        `SELECT account_id, version::text FROM ledger_event_conflicts WHERE account_id = ANY($1::text[])`,
        [[A, B]],
      ),
    ).toEqual([]);
    const state = await storeState(iso, [A, B]);
    await expectRedisMatchesStore(iso.ledger.client, state);
  }, 60_000);
});
