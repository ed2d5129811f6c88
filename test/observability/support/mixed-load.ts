import { Metadata } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { type RunningLedger, uid } from '../../support/ledger-app';
import type { PrivateRedis } from '../../support/redis-server';
import { waitFor } from './tools';

/**
 * A few seconds of mixed traffic with every outcome the metrics tell apart: successes, replays,
 * business rejects, invalid arguments, expiries, a NOSCRIPT reload (SCRIPT FLUSH) and a Redis
 * outage (faults, reconnects).
 */
export async function load(ledger: RunningLedger, redis: PrivateRedis): Promise<void> {
  const c = ledger.client;
  const accounts = [uid('prom-acct'), uid('prom-acct')];
  for (const accountId of accounts) {
    await c.call('OpenAccount', { accountId, currency: 'USD' });
    await c.call('Deposit', {
      transactionId: uid('prom-tx'),
      accountId,
      amount: { amount: '1000000.00', currency: 'USD' },
    });
  }
  const quiet = (call: Promise<unknown>): Promise<unknown> => call.catch(() => undefined);
  const until = Date.now() + 5000;
  let round = 0;
  const worker = async (w: number): Promise<void> => {
    const accountId = accounts[w % accounts.length]!;
    while (Date.now() < until) {
      round++;
      const rid = uid('prom-res');
      const amount = { amount: '1.00', currency: 'USD' };
      await c.call('Reserve', { reservationId: rid, accountId, amount, ttlSeconds: 3600 });
      await c.call('Reserve', { reservationId: rid, accountId, amount, ttlSeconds: 3600 }); // replay
      await quiet(
        c.call('Reserve', {
          reservationId: uid('prom-res'),
          accountId,
          amount: { amount: '9999999.00', currency: 'USD' },
        }),
      );
      await quiet(c.call('Reserve', { reservationId: '', accountId, amount }));
      await c.call('CommitReservation', {
        reservationId: rid,
        commitId: 'f1',
        amount: { amount: '0.50', currency: 'USD' },
      });
      await c.call('ReleaseReservation', { reservationId: rid, reason: 'done' });
      await c.call('Reserve', { reservationId: uid('prom-res'), accountId, amount, ttlSeconds: 1 }); // expires
      await c.call('Transfer', {
        transactionId: uid('prom-tx'),
        fromAccountId: accountId,
        toAccountId: accounts[(w + 1) % 2]!,
        amount,
      });
      await c.call('GetAccount', { accountId }, new Metadata());
      if (round % 50 === 0) {
        // Redis forgets its scripts: the next EVALSHA gets NOSCRIPT and reloads.
        const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
        await admin.connect();
        await admin.script('FLUSH');
        admin.disconnect();
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  // A short outage: calls fail with UNAVAILABLE (faults), the client reconnects.
  await redis.kill();
  for (let i = 0; i < 5; i++) {
    await quiet(
      c.call('Reserve', {
        reservationId: uid('prom-res'),
        accountId: accounts[0],
        amount: { amount: '1.00', currency: 'USD' },
      }),
    );
  }
  await redis.resume();
  // The private Redis kept nothing: a new account shows the service is back.
  const after = uid('prom-acct');
  await waitFor('service back after the outage', async () =>
    c.call('OpenAccount', { accountId: after, currency: 'USD' }),
  );
  await c.call('Deposit', {
    transactionId: uid('prom-tx'),
    accountId: after,
    amount: { amount: '100.00', currency: 'USD' },
  });
  for (let i = 0; i < 3; i++) {
    const amount = { amount: '1.00', currency: 'USD' };
    await c.call('Reserve', { reservationId: uid('prom-res'), accountId: after, amount, ttlSeconds: 3600 });
  }
}
