import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import type { Reply } from '../support/ledger-client';
import { expectRejected, figures, LedgerDriver, money } from '../support/ledger-expect';
import { PrivateRedis } from '../support/redis-server';

/**
 * Back-pressure: with one bucket and an outbox bound of 10 events and a relay that does not drain
 * it (workers off, as when the event store is stuck; acks therefore "fast"), the 11th event is
 * refused with RESOURCE_EXHAUSTED / OVERLOADED, and nothing changes.
 */
// Calls wait for durable acks (Postgres) and machines are shared: generous per-test budget;
// liveness bounds that matter are asserted explicitly inside the tests.
jest.setTimeout(30_000);

describe('overload: a full outbox refuses new work with OVERLOADED and changes nothing', () => {
  let redis: PrivateRedis;
  let direct: Redis;
  let ledger: RunningLedger;
  let l: LedgerDriver;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    direct = new Redis(redis.port, '127.0.0.1');
    ledger = await startLedger({
      LEDGER_REDIS_URL: redis.url,
      LEDGER_BUCKETS: '1',
      LEDGER_OUTBOX_MAX_PER_BUCKET: '10',
      LEDGER_WORKERS: 'false',
      LEDGER_ACK_MODE: 'fast',
    });
    l = new LedgerDriver(ledger.client);
  });
  afterAll(async () => {
    await ledger?.close();
    await direct?.quit();
    await redis?.stop();
  });

  const OUTBOX = 'ledger:{b0}:outbox';

  let accountId: string;
  let other: string;
  let reservationId: string;
  let expiring: string;
  let depositId: string;

  it('fills the outbox to its bound of 10 events', async () => {
    await direct.del(OUTBOX);
    accountId = await l.open(); // 1
    other = await l.open(); // 2
    depositId = uid('dep');
    await l.call('Deposit', { transactionId: depositId, accountId, amount: money('100.00') }); // 3
    reservationId = uid('res');
    await l.reserve(accountId, '10.00', { reservationId }); // 4
    expiring = uid('res');
    await l.reserve(accountId, '5.00', { reservationId: expiring, ttlSeconds: 2 }); // 5
    for (let i = 0; i < 5; i++) await l.deposit(accountId, '1.00'); // 6..10
    expect(await direct.xlen(OUTBOX)).toBe(10);
    expect(figures(await l.account(accountId))).toEqual({
      balance: '105.00',
      held: '15.00',
      available: '90.00',
      version: '9',
    });
  });

  it('refuses every new mutation with OVERLOADED (RESOURCE_EXHAUSTED), changing nothing', async () => {
    const refused: [string, () => Promise<Reply>][] = [
      ['OpenAccount', () => l.call('OpenAccount', { accountId: uid('acct'), currency: 'USD' })],
      ['Deposit', () => l.call('Deposit', { transactionId: uid('tx'), accountId, amount: money('1.00') })],
      ['Withdraw', () => l.call('Withdraw', { transactionId: uid('tx'), accountId, amount: money('1.00') })],
      [
        'Transfer',
        () =>
          l.call('Transfer', {
            transactionId: uid('tx'),
            fromAccountId: accountId,
            toAccountId: other,
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
      ['FreezeAccount', () => l.call('FreezeAccount', { accountId, reason: '' })],
    ];
    for (const [name, call] of refused) {
      const error = await expectRejected(call(), 'OVERLOADED').catch((failure: unknown) => {
        throw new Error(`${name}: ${String(failure)}`);
      });
      expect(error.message).toContain('10');
    }
    expect(await direct.xlen(OUTBOX)).toBe(10);
    expect(figures(await l.account(accountId))).toEqual({
      balance: '105.00',
      held: '15.00',
      available: '90.00',
      version: '9',
    });
    expect(figures(await l.account(other))).toEqual({ balance: '0.00', held: '0.00', available: '0.00', version: '1' });
  });

  it('still answers reads, replays of applied calls, status no-ops and bad input with their own results', async () => {
    expect((await l.reservation(reservationId)).reservation).toMatchObject({
      amount: '10.00',
      status: 'RESERVATION_STATUS_ACTIVE',
    });
    const replay = await l.call('Deposit', { transactionId: depositId, accountId, amount: money('100.00') });
    expect(replay.replayed).toBe(true);
    expect((await l.call('UnfreezeAccount', { accountId, reason: '' })).replayed).toBe(true);
    await expectRejected(
      l.call('Deposit', { transactionId: uid('tx'), accountId, amount: money('0') }),
      'INVALID_AMOUNT',
    );
    await expectRejected(
      l.call('Deposit', { transactionId: uid('tx'), accountId: uid('ghost'), amount: money('1.00') }),
      'ACCOUNT_NOT_FOUND',
    );
  });

  it('still expires holds (expiry only gives funds back and is never starved)', async () => {
    const deadline = Date.now() + 5000;
    let status = '';
    while (Date.now() < deadline) {
      status = (await l.reservation(expiring)).reservation.status;
      if (status === 'RESERVATION_STATUS_EXPIRED') break;
      await sleep(50);
    }
    expect(status).toBe('RESERVATION_STATUS_EXPIRED');
    expect(figures(await l.account(accountId))).toEqual({
      balance: '105.00',
      held: '10.00',
      available: '95.00',
      version: '10',
    });
  });

  it('accepts work again once the outbox is drained', async () => {
    await direct.xtrim(OUTBOX, 'MAXLEN', 0);
    const reply = await l.call('CommitReservation', {
      reservationId,
      commitId: uid('c'),
      amount: money('1.00'),
      final: false,
    });
    expect(figures(reply.account)).toEqual({ balance: '104.00', held: '9.00', available: '95.00', version: '11' });
  });
});
