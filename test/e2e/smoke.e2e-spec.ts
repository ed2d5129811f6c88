import { expectFailure } from '../support/ledger-client';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';

describe('smoke: open, deposit, reserve, commit, release over gRPC', () => {
  let ledger: RunningLedger;
  beforeAll(async () => {
    ledger = await startLedger();
  });
  afterAll(async () => {
    await ledger.close();
  });

  it('hands every LedgerService method straight from grpc-js to the controller (the walk below goes that way)', () => {
    expect([...ledger.app.directlyDispatched].sort()).toEqual(
      [
        'AmendReservation',
        'CloseAccount',
        'CommitReservation',
        'Deposit',
        'FreezeAccount',
        'GetAccount',
        'GetBalanceAt',
        'GetReservation',
        'ListAccountEvents',
        'OpenAccount',
        'ReleaseReservation',
        'Reserve',
        'Transfer',
        'UnfreezeAccount',
        'Withdraw',
      ].map((m) => `/ledger.v1.LedgerService/${m}`),
    );
  });

  it('walks a reservation through its life', async () => {
    const account = uid('acct');
    const c = ledger.client;
    await c.call('OpenAccount', { accountId: account, currency: 'USD' });
    await c.call('Deposit', {
      transactionId: uid('tx'),
      accountId: account,
      amount: { amount: '100.00', currency: 'USD' },
    });
    const rid = uid('res');
    const reserved = await c.call('Reserve', {
      reservationId: rid,
      accountId: account,
      amount: { amount: '30.00', currency: 'USD' },
    });
    expect(reserved.account).toMatchObject({ balance: '100.00', held: '30.00', available: '70.00', version: '3' });
    const committed = await c.call('CommitReservation', {
      reservationId: rid,
      commitId: 'fill-1',
      amount: { amount: '10.00', currency: 'USD' },
    });
    expect(committed.reservation).toMatchObject({
      committed: '10.00',
      remaining: '20.00',
      status: 'RESERVATION_STATUS_ACTIVE',
    });
    const released = await c.call('ReleaseReservation', { reservationId: rid });
    expect(released.account).toMatchObject({ balance: '90.00', held: '0.00', available: '90.00', version: '5' });
    const again = await expectFailure(
      c.call('Reserve', {
        reservationId: uid('res'),
        accountId: account,
        amount: { amount: '90.01', currency: 'USD' },
      }),
    );
    expect(again.reason).toBe('INSUFFICIENT_FUNDS');
    expect(again.message).toBe('INSUFFICIENT_FUNDS: available 90.00 USD < 90.01 USD');
  });
});
