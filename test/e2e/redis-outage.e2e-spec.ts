import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import { decodeError, type DecodedError, type Reply } from '../support/ledger-client';
import { expectReason, expectRejected, figures, LedgerDriver, money } from '../support/ledger-expect';
import { PrivateRedis } from '../support/redis-server';

/** Liveness bound, not a benchmark: the command timeout is 500 ms by default. */
const FAST_MS = 2000;

/**
 * Blocks the Redis server for `ms` with a busy Lua script from a separate connection: every
 * command the service sends meanwhile is in flight, unanswered. Resolves when the script ends
 * (or rejects if the server dies first).
 */
function blockRedis(redis: Redis, ms: number): Promise<unknown> {
  const script = `
    local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
    local stop = now() + tonumber(ARGV[1])
    while now() < stop do end
    return 1`;
  return redis.eval(script, 0, ms);
}

// Calls wait for durable acks (Postgres) and machines are shared: generous per-test budget;
// liveness bounds that matter are asserted explicitly inside the tests.
jest.setTimeout(30_000);

describe('redis outage: fail fast with UNAVAILABLE / DEPENDENCY_UNAVAILABLE, recover without a restart', () => {
  let redis: PrivateRedis;
  let ledger: RunningLedger;
  let l: LedgerDriver;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    ledger = await startLedger({ LEDGER_REDIS_URL: redis.url });
    l = new LedgerDriver(ledger.client);
  });
  afterAll(async () => {
    await ledger?.close();
    await redis?.stop();
  });

  /** Runs a call that must fail with DEPENDENCY_UNAVAILABLE (code UNAVAILABLE) within FAST_MS. */
  async function expectUnavailableFast(call: () => Promise<unknown>): Promise<DecodedError> {
    const started = Date.now();
    const error = await expectRejected(call(), 'DEPENDENCY_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(FAST_MS);
    return error;
  }

  /** Retries `call` while it fails with DEPENDENCY_UNAVAILABLE (bounded); any other failure fails the test. */
  async function eventually(call: () => Promise<Reply>, withinMs = 15_000): Promise<Reply> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        return await call();
      } catch (raw) {
        const error = decodeError(raw);
        expectReason(error, 'DEPENDENCY_UNAVAILABLE');
        if (Date.now() > deadline) {
          throw new Error(`still unavailable after ${withinMs} ms: ${error.message}`, { cause: raw });
        }
        await sleep(100);
      }
    }
  }

  function probe(): Redis {
    return new Redis(redis.port, '127.0.0.1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: true,
    });
  }

  // State shared by the steps below, which run in order against one service and one Redis.
  let accountId: string;
  let reservationId: string;

  it('serves calls while Redis is up', async () => {
    accountId = await l.funded('100.00');
    reservationId = uid('res');
    const reserved = await l.reserve(accountId, '10.00', { reservationId });
    expect(figures(reserved.account)).toEqual({ balance: '100.00', held: '10.00', available: '90.00', version: '3' });
  });

  it('a Redis that stops answering gives DEPENDENCY_UNAVAILABLE fast; a retry with the same id applies exactly once', async () => {
    const blocker = probe();
    try {
      const blocked = blockRedis(blocker, 1500);
      await sleep(100); // the script is running: Redis answers nobody until it ends
      const transactionId = uid('dep');
      const deposit = (): Promise<Reply> => l.call('Deposit', { transactionId, accountId, amount: money('5.00') });
      const error = await expectUnavailableFast(deposit);
      expect(error.message).toMatch(/^DEPENDENCY_UNAVAILABLE: /);
      await expectUnavailableFast(() => l.account(accountId));
      await blocked;
      // What was sent before the timeout may still have been applied: the retry must not credit twice.
      const retried = await eventually(deposit);
      expect(retried.account.balance).toBe('105.00');
      const again = await l.call('Deposit', { transactionId, accountId, amount: money('5.00') });
      expect(again.replayed).toBe(true);
      expect(figures(await l.account(accountId))).toEqual({
        balance: '105.00',
        held: '10.00',
        available: '95.00',
        version: '4',
      });
    } finally {
      blocker.disconnect();
    }
  });

  it('a call in flight when Redis is killed fails fast with DEPENDENCY_UNAVAILABLE, not INTERNAL and not a hang', async () => {
    const blocker = probe();
    try {
      const blocked = blockRedis(blocker, 5000).catch(() => 'killed');
      await sleep(100);
      const started = Date.now();
      const inFlight = l.call('Reserve', {
        reservationId: uid('res'),
        accountId,
        amount: money('1.00'),
        orderId: '',
        ttlSeconds: 0,
      });
      const outcome = inFlight.then(
        () => undefined,
        (error: unknown) => decodeError(error),
      );
      await sleep(150); // the reserve is now waiting in Redis behind the busy script
      await redis.kill();
      const error = await outcome;
      if (!error) throw new Error('the in-flight reserve succeeded although Redis was blocked and then killed');
      expectReason(error, 'DEPENDENCY_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(FAST_MS);
      expect(await blocked).toBe('killed');
    } finally {
      blocker.disconnect();
    }
  });

  it('while Redis is down, every RPC fails fast with UNAVAILABLE / DEPENDENCY_UNAVAILABLE', async () => {
    const fresh = uid('acct');
    const calls: [string, () => Promise<unknown>][] = [
      ['OpenAccount', () => l.call('OpenAccount', { accountId: fresh, currency: 'USD' })],
      ['GetAccount', () => l.call('GetAccount', { accountId })],
      ['FreezeAccount', () => l.call('FreezeAccount', { accountId, reason: '' })],
      ['UnfreezeAccount', () => l.call('UnfreezeAccount', { accountId, reason: '' })],
      ['CloseAccount', () => l.call('CloseAccount', { accountId, reason: '' })],
      ['Deposit', () => l.call('Deposit', { transactionId: uid('tx'), accountId, amount: money('1.00') })],
      ['Withdraw', () => l.call('Withdraw', { transactionId: uid('tx'), accountId, amount: money('1.00') })],
      [
        'Transfer',
        () =>
          l.call('Transfer', {
            transactionId: uid('tx'),
            fromAccountId: accountId,
            toAccountId: fresh,
            amount: money('1.00'),
          }),
      ],
      ['Reserve', () => l.reserve(accountId, '1.00')],
      [
        'AmendReservation',
        () => l.call('AmendReservation', { reservationId, amendId: uid('a'), newAmount: money('11.00') }),
      ],
      [
        'CommitReservation',
        () => l.call('CommitReservation', { reservationId, commitId: uid('c'), amount: money('1.00'), final: false }),
      ],
      ['ReleaseReservation', () => l.call('ReleaseReservation', { reservationId, reason: '' })],
      ['GetReservation (known id)', () => l.call('GetReservation', { reservationId })],
      ['GetReservation (unknown id)', () => l.call('GetReservation', { reservationId: uid('nores') })],
      [
        'CommitReservation (unknown id)',
        () =>
          l.call('CommitReservation', {
            reservationId: uid('nores'),
            commitId: 'c',
            amount: money('1.00'),
            final: false,
          }),
      ],
    ];
    // several rounds: the client goes through "reconnecting" and "connecting" while Redis stays down
    for (let round = 0; round < 3; round++) {
      for (const [name, call] of calls) {
        const started = Date.now();
        const error = await expectFailureOf(call);
        expect({ rpc: name, code: error.code, reason: error.reason, domain: error.domain }).toEqual({
          rpc: name,
          code: 14, // UNAVAILABLE
          reason: 'DEPENDENCY_UNAVAILABLE',
          domain: 'ledger.v1',
        });
        expect(error.message).toMatch(/^DEPENDENCY_UNAVAILABLE: /);
        expect(Date.now() - started).toBeLessThan(FAST_MS);
      }
      await sleep(400);
    }
  });

  it('while Redis is down, bad input still gets its own reason (validation needs no Redis)', async () => {
    await expectRejected(
      l.call('Deposit', { transactionId: uid('tx'), accountId, amount: money('0') }),
      'INVALID_AMOUNT',
    );
    await expectRejected(l.call('OpenAccount', { accountId: 'bad id', currency: 'USD' }), 'INVALID_ARGUMENT');
    await expectRejected(
      l.call('Reserve', { reservationId: uid('r'), accountId, amount: money('1.00', 'XYZ') }),
      'UNKNOWN_CURRENCY',
    );
  });

  it('many calls at once while Redis is down all fail fast with DEPENDENCY_UNAVAILABLE', async () => {
    const started = Date.now();
    const settled = await Promise.allSettled(Array.from({ length: 100 }, () => l.reserve(accountId, '1.00')));
    expect(Date.now() - started).toBeLessThan(FAST_MS);
    const reasons = settled.map((outcome) =>
      outcome.status === 'fulfilled' ? 'OK' : decodeError(outcome.reason).reason,
    );
    expect(new Set(reasons)).toEqual(new Set(['DEPENDENCY_UNAVAILABLE']));
  });

  it('after Redis comes back (empty), calls succeed again without restarting the service, expiry included', async () => {
    await redis.resume();
    const next = uid('acct');
    const opened = await eventually(() => l.call('OpenAccount', { accountId: next, currency: 'USD' }));
    expect(opened.account).toMatchObject({ accountId: next, version: '1', balance: '0.00' });
    await l.deposit(next, '50.00');
    const other = await l.open();
    const rid = uid('res');
    await l.reserve(next, '20.00', { reservationId: rid });
    await l.call('CommitReservation', { reservationId: rid, commitId: 'f1', amount: money('5.00'), final: false });
    await l.call('AmendReservation', { reservationId: rid, amendId: 'a1', newAmount: money('10.00') });
    const released = await l.call('ReleaseReservation', { reservationId: rid, reason: '' });
    expect(released.reservation).toMatchObject({ status: 'RESERVATION_STATUS_RELEASED', committed: '5.00' });
    const moved = await l.call('Transfer', {
      transactionId: uid('tr'),
      fromAccountId: next,
      toAccountId: other,
      amount: money('15.00'),
    });
    expect([moved.fromAccount.balance, moved.toAccount.balance]).toEqual(['30.00', '15.00']);
    expect(figures(await l.account(next))).toEqual({
      balance: '30.00',
      held: '0.00',
      available: '30.00',
      version: '7',
    });
    // the expiry sweeper survived the outage too
    const expiring = uid('res');
    await l.reserve(next, '3.00', { reservationId: expiring, ttlSeconds: 1 });
    const deadline = Date.now() + 4000;
    let status = '';
    while (Date.now() < deadline) {
      status = (await l.reservation(expiring)).reservation.status;
      if (status === 'RESERVATION_STATUS_EXPIRED') break;
      await sleep(100);
    }
    expect(status).toBe('RESERVATION_STATUS_EXPIRED');
    expect(figures(await l.account(next))).toEqual({
      balance: '30.00',
      held: '0.00',
      available: '30.00',
      version: '9',
    });
  });

  it('survives a second kill and restart in a row', async () => {
    await redis.kill();
    await expectUnavailableFast(() => l.call('OpenAccount', { accountId: uid('acct'), currency: 'USD' }));
    await sleep(1500); // let the reconnect backoff grow
    await expectUnavailableFast(() => l.reserve(uid('acct'), '1.00'));
    await redis.resume();
    const again = uid('acct');
    const opened = await eventually(() => l.call('OpenAccount', { accountId: again, currency: 'KRW' }));
    expect(opened.account).toMatchObject({ accountId: again, currency: 'KRW', version: '1' });
    expect((await l.deposit(again, '1000', 'KRW')).account.balance).toBe('1000');
  });
});

async function expectFailureOf(call: () => Promise<unknown>): Promise<DecodedError> {
  try {
    await call();
  } catch (error) {
    return decodeError(error);
  }
  throw new Error('expected the call to fail, but it succeeded');
}
