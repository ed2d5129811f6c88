import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import { decodeError, type Reply } from '../support/ledger-client';
import { expectReason, figures, LedgerDriver, money } from '../support/ledger-expect';

interface Outcomes {
  ok: Reply[];
  /** failed calls by ErrorInfo reason (each already checked against the contract: code, domain, prefix) */
  failed: Map<string, number>;
}

/** Runs every call at once and sorts the outcomes; any failure that is not a contract error fails the test. */
async function together(calls: (() => Promise<Reply>)[]): Promise<Outcomes> {
  const settled = await Promise.allSettled(calls.map((call) => call()));
  const ok: Reply[] = [];
  const failed = new Map<string, number>();
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') {
      ok.push(outcome.value);
      continue;
    }
    const error = decodeError(outcome.reason);
    expectReason(error, error.reason ?? `no ErrorInfo (code ${error.code}: ${error.message})`);
    failed.set(error.reason as string, (failed.get(error.reason as string) ?? 0) + 1);
  }
  return { ok, failed };
}

function cents(amount: string): number {
  const [whole, fraction = ''] = amount.split('.');
  const sign = amount.startsWith('-') ? -1 : 1;
  return sign * (Math.abs(Number(whole)) * 100 + Number(fraction.padEnd(2, '0')));
}

function usd(centsValue: number): string {
  const sign = centsValue < 0 ? '-' : '';
  const abs = Math.abs(centsValue);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

// Calls wait for durable acks (Postgres) and machines are shared: generous per-test budget;
// liveness bounds that matter are asserted explicitly inside the tests.
jest.setTimeout(30_000);

describe('concurrency: many calls at once on the same account, reservation or id', () => {
  let ledger: RunningLedger;
  let l: LedgerDriver;
  beforeAll(async () => {
    ledger = await startLedger();
    l = new LedgerDriver(ledger.client);
  });
  afterAll(async () => {
    await ledger.close();
  });

  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it('300 concurrent reserves of 1.00 on 100.00: exactly 100 succeed, 200 INSUFFICIENT_FUNDS, versions gapless', async () => {
    const accountId = await l.funded('100.00');
    const { ok, failed } = await together(range(300).map(() => () => l.reserve(accountId, '1.00')));
    expect(ok).toHaveLength(100);
    expect(Object.fromEntries(failed)).toEqual({ INSUFFICIENT_FUNDS: 200 });
    expect(ok.every((reply) => reply.replayed === false)).toBe(true);
    // every successful reserve saw its own version: 3..102, no gaps and no duplicates
    const versions = ok.map((reply) => Number(reply.account.version)).sort((a, b) => a - b);
    expect(versions).toEqual(range(100).map((i) => i + 3));
    for (const reply of ok) {
      expect(reply.reservation.accountVersion).toBe(reply.account.version);
      // held in the reply = 1.00 per reservation made so far
      expect(reply.account.held).toBe(usd((Number(reply.account.version) - 2) * 100));
    }
    expect(figures(await l.account(accountId))).toEqual({
      balance: '100.00',
      held: '100.00',
      available: '0.00',
      version: '102',
    });
  });

  it('50 concurrent reserves with one reservation_id: one applied, 49 replayed, one hold', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    const { ok, failed } = await together(
      range(50).map(() => () => l.reserve(accountId, '7.00', { reservationId, orderId: 'o' })),
    );
    expect(failed.size).toBe(0);
    expect(ok).toHaveLength(50);
    expect(ok.filter((reply) => reply.replayed === false)).toHaveLength(1);
    expect(ok.filter((reply) => reply.replayed === true)).toHaveLength(49);
    for (const reply of ok) {
      expect(reply.reservation).toMatchObject({
        reservationId,
        amount: '7.00',
        status: 'RESERVATION_STATUS_ACTIVE',
        accountVersion: '3',
      });
      expect(figures(reply.account)).toEqual({ balance: '100.00', held: '7.00', available: '93.00', version: '3' });
    }
    expect(figures(await l.account(accountId))).toEqual({
      balance: '100.00',
      held: '7.00',
      available: '93.00',
      version: '3',
    });
  });

  it('50 concurrent reserves with one reservation_id on 50 different accounts: exactly one account holds it', async () => {
    const accounts = await Promise.all(range(50).map(() => l.funded('10.00')));
    const reservationId = uid('res');
    const { ok, failed } = await together(
      accounts.map((accountId) => () => l.reserve(accountId, '1.00', { reservationId })),
    );
    expect(ok).toHaveLength(1);
    expect(Object.fromEntries(failed)).toEqual({ IDEMPOTENCY_CONFLICT: 49 });
    const winner = ok[0]?.reservation.accountId as string;
    const states = await Promise.all(accounts.map((accountId) => l.account(accountId)));
    for (const [i, account] of states.entries()) {
      const held = accounts[i] === winner ? '1.00' : '0.00';
      expect({ id: accounts[i], held: account.held, version: account.version }).toEqual({
        id: accounts[i],
        held,
        version: accounts[i] === winner ? '3' : '2',
      });
    }
  });

  it('50 concurrent deposits with one transaction_id credit the balance once', async () => {
    const accountId = await l.open();
    const transactionId = uid('dep');
    const { ok, failed } = await together(
      range(50).map(() => () => l.call('Deposit', { transactionId, accountId, amount: money('12.34') })),
    );
    expect(failed.size).toBe(0);
    expect(ok.filter((reply) => reply.replayed === false)).toHaveLength(1);
    expect(ok.filter((reply) => reply.replayed === true)).toHaveLength(49);
    for (const reply of ok)
      expect(figures(reply.account)).toEqual({ balance: '12.34', held: '0.00', available: '12.34', version: '2' });
    expect(figures(await l.account(accountId))).toEqual({
      balance: '12.34',
      held: '0.00',
      available: '12.34',
      version: '2',
    });
  });

  it('100 concurrent deposits with distinct ids all land: balance exact, version 101', async () => {
    const accountId = await l.open();
    const { ok, failed } = await together(range(100).map(() => () => l.deposit(accountId, '0.01')));
    expect(failed.size).toBe(0);
    expect(ok).toHaveLength(100);
    expect(figures(await l.account(accountId))).toEqual({
      balance: '1.00',
      held: '0.00',
      available: '1.00',
      version: '101',
    });
  });

  it('concurrent commits with distinct commit_ids never exceed the reservation (evenly divisible)', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    await l.reserve(accountId, '10.00', { reservationId });
    const { ok, failed } = await together(
      range(40).map(
        (i) => () =>
          l.call('CommitReservation', { reservationId, commitId: `fill-${i}`, amount: money('0.50'), final: false }),
      ),
    );
    expect(ok).toHaveLength(20);
    expect(Object.fromEntries(failed)).toEqual({ RESERVATION_NOT_ACTIVE: 20 });
    const committedSeen = ok.map((reply) => cents(reply.reservation.committed)).sort((a, b) => a - b);
    expect(committedSeen).toEqual(range(20).map((i) => (i + 1) * 50));
    expect((await l.reservation(reservationId)).reservation).toMatchObject({
      amount: '10.00',
      committed: '10.00',
      remaining: '0.00',
      status: 'RESERVATION_STATUS_COMMITTED',
    });
    expect(figures(await l.account(accountId))).toEqual({
      balance: '90.00',
      held: '0.00',
      available: '90.00',
      version: '23',
    });
  });

  it('concurrent commits with distinct commit_ids never exceed the reservation (with a remainder)', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    await l.reserve(accountId, '10.00', { reservationId });
    const { ok, failed } = await together(
      range(40).map(
        (i) => () =>
          l.call('CommitReservation', { reservationId, commitId: `fill-${i}`, amount: money('0.30'), final: false }),
      ),
    );
    expect(ok).toHaveLength(33);
    expect(Object.fromEntries(failed)).toEqual({ COMMIT_EXCEEDS_RESERVATION: 7 });
    expect((await l.reservation(reservationId)).reservation).toMatchObject({
      committed: '9.90',
      remaining: '0.10',
      status: 'RESERVATION_STATUS_ACTIVE',
    });
    expect(figures(await l.account(accountId))).toEqual({
      balance: '90.10',
      held: '0.10',
      available: '90.00',
      version: '36',
    });
  });

  it('commits racing a release: what was committed is debited, the rest comes back, nothing is lost', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    await l.reserve(accountId, '30.00', { reservationId });
    const calls = range(30).map(
      (i) => () =>
        l.call('CommitReservation', { reservationId, commitId: `fill-${i}`, amount: money('1.00'), final: false }),
    );
    calls.splice(15, 0, () => l.call('ReleaseReservation', { reservationId, reason: 'cancel' }));
    const { ok, failed } = await together(calls);
    // a commit (final=false) never answers RELEASED; only the release does
    const released = ok.filter((reply) => reply.reservation.status === 'RESERVATION_STATUS_RELEASED').length;
    const commits = ok.length - released;
    expect(released).toBeLessThanOrEqual(1);
    expect(ok.length + (failed.get('RESERVATION_NOT_ACTIVE') ?? 0)).toBe(31);
    expect([...failed.keys()].filter((reason) => reason !== 'RESERVATION_NOT_ACTIVE')).toEqual([]);
    const final = await l.reservation(reservationId);
    expect(final.reservation).toMatchObject({
      status: released === 1 ? 'RESERVATION_STATUS_RELEASED' : 'RESERVATION_STATUS_COMMITTED',
      committed: usd(commits * 100),
      remaining: '0.00',
    });
    expect(figures(final.account)).toEqual({
      balance: usd(10_000 - commits * 100),
      held: '0.00',
      available: usd(10_000 - commits * 100),
      version: String(3 + commits + released),
    });
  });

  it('concurrent transfers A->B and B->A keep the sum constant and each balance exact', async () => {
    const a = await l.funded('100.00');
    const b = await l.funded('100.00');
    const plan = range(120).map((i) => ({
      transactionId: uid('tr'),
      from: i % 2 === 0 ? a : b,
      to: i % 2 === 0 ? b : a,
      amountCents: 1 + ((i * 37) % 500), // 0.01 .. 5.00, deterministic
    }));
    const byId = new Map(plan.map((step) => [step.transactionId, step]));
    const { ok, failed } = await together(
      plan.map(
        (step) => () =>
          l.call('Transfer', {
            transactionId: step.transactionId,
            fromAccountId: step.from,
            toAccountId: step.to,
            amount: money(usd(step.amountCents)),
          }),
      ),
    );
    expect([...failed.keys()].filter((reason) => reason !== 'INSUFFICIENT_FUNDS')).toEqual([]);
    let netToB = 0;
    for (const reply of ok) {
      const step = byId.get(reply.transactionId);
      if (!step) throw new Error(`reply for unknown transaction ${reply.transactionId}`);
      expect([reply.fromAccount.accountId, reply.toAccount.accountId]).toEqual([step.from, step.to]);
      // no overdraft: no state right after a transfer is below zero, and the pair always sums to 200.00
      expect(cents(reply.fromAccount.balance)).toBeGreaterThanOrEqual(0);
      expect(cents(reply.fromAccount.balance) + cents(reply.toAccount.balance)).toBe(20_000);
      netToB += step.from === a ? step.amountCents : -step.amountCents;
    }
    const [finalA, finalB] = await Promise.all([l.account(a), l.account(b)]);
    expect(cents(finalA.balance) + cents(finalB.balance)).toBe(20_000);
    expect(figures(finalA)).toEqual({
      balance: usd(10_000 - netToB),
      held: '0.00',
      available: usd(10_000 - netToB),
      version: String(2 + ok.length),
    });
    expect(figures(finalB)).toEqual({
      balance: usd(10_000 + netToB),
      held: '0.00',
      available: usd(10_000 + netToB),
      version: String(2 + ok.length),
    });
  });

  it('30 concurrent commits with one commit_id debit once', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    await l.reserve(accountId, '50.00', { reservationId });
    const { ok, failed } = await together(
      range(30).map(
        () => () =>
          l.call('CommitReservation', { reservationId, commitId: 'fill-1', amount: money('7.00'), final: false }),
      ),
    );
    expect(failed.size).toBe(0);
    expect(ok.filter((reply) => reply.replayed === false)).toHaveLength(1);
    for (const reply of ok)
      expect(reply.reservation).toMatchObject({ committed: '7.00', remaining: '43.00', accountVersion: '4' });
    expect(figures(await l.account(accountId))).toEqual({
      balance: '93.00',
      held: '43.00',
      available: '50.00',
      version: '4',
    });
  });

  it('30 concurrent amends with one amend_id apply once', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    await l.reserve(accountId, '10.00', { reservationId });
    const { ok, failed } = await together(
      range(30).map(
        () => () => l.call('AmendReservation', { reservationId, amendId: 'up-1', newAmount: money('60.00') }),
      ),
    );
    expect(failed.size).toBe(0);
    expect(ok.filter((reply) => reply.replayed === false)).toHaveLength(1);
    expect(figures(await l.account(accountId))).toEqual({
      balance: '100.00',
      held: '60.00',
      available: '40.00',
      version: '4',
    });
  });

  it('concurrent opens of one account id: the same parameters open it once, other currencies get ACCOUNT_EXISTS', async () => {
    const accountId = uid('acct');
    const { ok, failed } = await together(
      range(40).map((i) => () => l.call('OpenAccount', { accountId, currency: i % 2 === 0 ? 'USD' : 'EUR' })),
    );
    const currencies = new Set(ok.map((reply) => reply.account.currency));
    expect(currencies.size).toBe(1);
    expect(ok).toHaveLength(20);
    expect(ok.filter((reply) => reply.replayed === false)).toHaveLength(1);
    expect(Object.fromEntries(failed)).toEqual({ ACCOUNT_EXISTS: 20 });
    expect(await l.account(accountId)).toMatchObject({ currency: [...currencies][0], version: '1' });
  });

  it('concurrent freezes write one event; the rest are replays', async () => {
    const accountId = await l.funded('5.00');
    const { ok, failed } = await together(
      range(20).map(() => () => l.call('FreezeAccount', { accountId, reason: 'x' })),
    );
    expect(failed.size).toBe(0);
    expect(ok.filter((reply) => reply.replayed === false)).toHaveLength(1);
    expect(await l.account(accountId)).toMatchObject({ status: 'ACCOUNT_STATUS_FROZEN', version: '3' });
  });

  it('reserves and withdrawals racing on one account never take more than the balance', async () => {
    const accountId = await l.funded('100.00');
    const calls = range(200).map((i) =>
      i % 2 === 0
        ? () => l.reserve(accountId, '1.00')
        : () => l.call('Withdraw', { transactionId: uid('wd'), accountId, amount: money('1.00') }),
    );
    const { ok, failed } = await together(calls);
    expect(ok).toHaveLength(100);
    expect(Object.fromEntries(failed)).toEqual({ INSUFFICIENT_FUNDS: 100 });
    const reserves = ok.filter((reply) => reply.reservation !== undefined && reply.reservation !== null).length;
    const account = await l.account(accountId);
    expect(figures(account)).toEqual({
      balance: usd(10_000 - (100 - reserves) * 100),
      held: usd(reserves * 100),
      available: '0.00',
      version: '102',
    });
  });
});
