import { status } from '@grpc/grpc-js';
import { expectFailure } from '../support/ledger-client';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import { expectReason, LedgerDriver, money } from '../support/ledger-expect';
import { PrivateRedis } from '../support/redis-server';

/**
 * The details of an error status: ErrorInfo.metadata carries the facts of a reject, so that a
 * caller acts on them without parsing the message; UNAVAILABLE / OVERLOADED carry
 * google.rpc.RetryInfo (retry, with the same ids, after that delay).
 */
describe('error details', () => {
  let redis: PrivateRedis;
  let ledger: RunningLedger;
  let l: LedgerDriver;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    ledger = await startLedger({ LEDGER_REDIS_URL: redis.url, LEDGER_ACK_MODE: 'fast', LEDGER_WORKERS: 'false' });
    l = new LedgerDriver(ledger.client);
  });

  afterAll(async () => {
    await ledger?.close();
    await redis?.stop();
  });

  it('INSUFFICIENT_FUNDS names available, requested and the currency; no RetryInfo', async () => {
    const accountId = await l.funded('650.00');
    const error = await expectFailure(l.reserve(accountId, '900.00'));
    expectReason(error, 'INSUFFICIENT_FUNDS');
    expect(error.metadata).toEqual({ available: '650.00', requested: '900.00', currency: 'USD' });
    expect(error.retryDelayMs).toBeUndefined();
  });

  it('COMMIT_EXCEEDS_RESERVATION names requested and remaining', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    await l.reserve(accountId, '30.00', { reservationId });
    const error = await expectFailure(
      ledger.client.call('CommitReservation', { reservationId, commitId: uid('c'), amount: money('31.00') }),
    );
    expectReason(error, 'COMMIT_EXCEEDS_RESERVATION');
    expect(error.metadata).toEqual({ requested: '31.00', remaining: '30.00', currency: 'USD' });
  });

  it('UNAVAILABLE (Redis down) carries RetryInfo', async () => {
    const accountId = await l.funded('10.00');
    await redis.kill();
    try {
      const error = await expectFailure(l.deposit(accountId, '1.00'));
      expect(error.code).toBe(status.UNAVAILABLE);
      expectReason(error, 'DEPENDENCY_UNAVAILABLE');
      expect(error.retryDelayMs).toBe(500);
    } finally {
      await redis.resume();
    }
  });
});
