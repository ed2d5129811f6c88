import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import type { Reply } from '../support/ledger-client';
import { expectRejected, figures, LedgerDriver, money } from '../support/ledger-expect';

/** 2^53-1 minor units of a scale-2 currency. */
const MAX_USD = '90071992547409.91';

// Calls wait for durable acks (Postgres) and machines are shared: generous per-test budget;
// liveness bounds that matter are asserted explicitly inside the tests.
jest.setTimeout(30_000);

describe('movements: Deposit, Withdraw, Transfer', () => {
  let ledger: RunningLedger;
  let l: LedgerDriver;
  beforeAll(async () => {
    ledger = await startLedger();
    l = new LedgerDriver(ledger.client);
  });
  afterAll(async () => {
    await ledger.close();
  });

  const deposit = (
    accountId: string,
    amount: string,
    currency = 'USD',
    transactionId = uid('dep'),
    metadata: Record<string, string> = {},
  ): Promise<Reply> => l.call('Deposit', { transactionId, accountId, amount: money(amount, currency), metadata });
  const withdraw = (
    accountId: string,
    amount: string,
    currency = 'USD',
    transactionId = uid('wd'),
    metadata: Record<string, string> = {},
  ): Promise<Reply> => l.call('Withdraw', { transactionId, accountId, amount: money(amount, currency), metadata });
  const transfer = (
    from: string,
    to: string,
    amount: string,
    currency = 'USD',
    transactionId = uid('tr'),
    metadata: Record<string, string> = {},
  ): Promise<Reply> =>
    l.call('Transfer', {
      transactionId,
      fromAccountId: from,
      toAccountId: to,
      amount: money(amount, currency),
      metadata,
    });

  /** Asserts the exact figures of an account as GetAccount sees them now. */
  async function expectFigures(
    accountId: string,
    balance: string,
    held: string,
    available: string,
    version: string,
  ): Promise<void> {
    expect(figures(await l.account(accountId))).toEqual({ balance, held, available, version });
  }

  describe('Deposit', () => {
    it('credits the account and answers with its state right after the deposit', async () => {
      const accountId = await l.open();
      const transactionId = uid('dep');
      const reply = await deposit(accountId, '100.00', 'USD', transactionId);
      expect(reply.transactionId).toBe(transactionId);
      expect(reply.replayed).toBe(false);
      expect(reply.account).toMatchObject({
        accountId,
        status: 'ACCOUNT_STATUS_OPEN',
        balance: '100.00',
        held: '0.00',
        available: '100.00',
        version: '2',
      });
      await expectFigures(accountId, '100.00', '0.00', '100.00', '2');
    });

    it('adds exactly, with no floating point: 0.10 + 0.20 = 0.30, 0.01 * 3 = 0.03', async () => {
      const accountId = await l.open();
      await deposit(accountId, '0.10');
      expect((await deposit(accountId, '0.20')).account.balance).toBe('0.30');
      const other = await l.open();
      await deposit(other, '0.01');
      await deposit(other, '0.01');
      expect((await deposit(other, '0.01')).account).toMatchObject({ balance: '0.03', version: '4' });
    });

    it('accepts fewer decimals than the scale and leading zeros', async () => {
      const accountId = await l.open();
      expect((await deposit(accountId, '5')).account.balance).toBe('5.00');
      expect((await deposit(accountId, '0.5')).account.balance).toBe('5.50');
      expect((await deposit(accountId, '007.25')).account.balance).toBe('12.75');
    });

    it('handles KRW (scale 0): whole units only', async () => {
      const accountId = await l.open('KRW');
      expect((await deposit(accountId, '1000', 'KRW')).account).toMatchObject({ balance: '1000', available: '1000' });
      await expectRejected(deposit(accountId, '1000.0', 'KRW'), 'INVALID_AMOUNT');
      await expectRejected(deposit(accountId, '0.5', 'KRW'), 'INVALID_AMOUNT');
      await expectFigures(accountId, '1000', '0', '1000', '2');
    });

    it('handles BHD (scale 3): three decimals, not four', async () => {
      const accountId = await l.open('BHD');
      expect((await deposit(accountId, '1.001', 'BHD')).account.balance).toBe('1.001');
      expect((await deposit(accountId, '0.01', 'BHD')).account.balance).toBe('1.011');
      await expectRejected(deposit(accountId, '1.0001', 'BHD'), 'INVALID_AMOUNT');
      await expectFigures(accountId, '1.011', '0.000', '1.011', '3');
    });

    it.each([
      ['1e3'],
      ['-1'],
      ['+1'],
      ['0'],
      ['0.00'],
      ['000'],
      [' 1'],
      ['1 '],
      ['1.001'],
      ['1.'],
      ['.50'],
      [''],
      ['abc'],
      ['NaN'],
      ['Infinity'],
      ['1,000'],
      ['1_000'],
      ['0x10'],
      ['١٢'],
      ['１'],
      ['1.0.0'],
      ['-0.01'],
    ])('rejects USD amount %j as INVALID_AMOUNT and changes nothing', async (amount) => {
      const accountId = await l.funded('10.00');
      await expectRejected(deposit(accountId, amount), 'INVALID_AMOUNT');
      await expectRejected(withdraw(accountId, amount), 'INVALID_AMOUNT');
      await expectFigures(accountId, '10.00', '0.00', '10.00', '2');
    });

    it('accepts an amount text of 40 chars and rejects 41 (bounded input)', async () => {
      const accountId = await l.open();
      const forty = `${'0'.repeat(36)}1.00`;
      expect(forty).toHaveLength(40);
      expect((await deposit(accountId, forty)).account.balance).toBe('1.00');
      await expectRejected(deposit(accountId, `0${forty}`), 'INVALID_AMOUNT');
      await expectFigures(accountId, '1.00', '0.00', '1.00', '2');
    });

    it('rejects a missing amount as INVALID_ARGUMENT', async () => {
      const accountId = await l.open();
      await expectRejected(l.call('Deposit', { transactionId: uid('dep'), accountId }), 'INVALID_ARGUMENT');
      await expectFigures(accountId, '0.00', '0.00', '0.00', '1');
    });

    it('rejects an unknown currency as UNKNOWN_CURRENCY and another currency as CURRENCY_MISMATCH', async () => {
      const accountId = await l.open();
      await expectRejected(deposit(accountId, '1.00', 'XYZ'), 'UNKNOWN_CURRENCY');
      await expectRejected(deposit(accountId, '1.00', 'usd'), 'UNKNOWN_CURRENCY');
      const mismatch = await expectRejected(deposit(accountId, '1.00', 'EUR'), 'CURRENCY_MISMATCH');
      expect(mismatch.message).toContain('USD');
      expect(mismatch.message).toContain('EUR');
      await expectRejected(deposit(accountId, '100', 'KRW'), 'CURRENCY_MISMATCH');
      await expectFigures(accountId, '0.00', '0.00', '0.00', '1');
    });

    it('fails with ACCOUNT_NOT_FOUND for an unknown account', async () => {
      const accountId = uid('ghost');
      const error = await expectRejected(deposit(accountId, '1.00'), 'ACCOUNT_NOT_FOUND');
      expect(error.message).toContain(accountId);
    });

    it('validates transaction_id: 1-128 printable ASCII without spaces', async () => {
      const accountId = await l.open();
      const ok128 = (uid('tx') + 'x'.repeat(128)).slice(0, 128);
      expect((await deposit(accountId, '1.00', 'USD', ok128)).transactionId).toBe(ok128);
      const punctuation = `${uid('tx')}!"#$%&'()*+,/;<=>?@[\\]^\`{|}~`;
      expect((await deposit(accountId, '1.00', 'USD', punctuation)).transactionId).toBe(punctuation);
      for (const bad of ['', (uid('tx') + 'x'.repeat(129)).slice(0, 129), 'tx 1', 'tx\t1', 'tx-é', 'tx\n']) {
        const error = await expectRejected(deposit(accountId, '1.00', 'USD', bad), 'INVALID_ARGUMENT');
        expect(error.message).toContain('transaction_id');
      }
      await expectFigures(accountId, '2.00', '0.00', '2.00', '3');
    });

    it('validates metadata: 16 entries pass, 17 fail', async () => {
      const accountId = await l.open();
      const sixteen = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v']));
      await deposit(accountId, '1.00', 'USD', uid('dep'), sixteen);
      await expectRejected(deposit(accountId, '1.00', 'USD', uid('dep'), { ...sixteen, k16: 'v' }), 'INVALID_ARGUMENT');
      await expectFigures(accountId, '1.00', '0.00', '1.00', '2');
    });

    it('is allowed on a frozen account', async () => {
      const accountId = await l.funded('1.00');
      await l.call('FreezeAccount', { accountId, reason: '' });
      const reply = await deposit(accountId, '2.00');
      expect(reply.account).toMatchObject({ status: 'ACCOUNT_STATUS_FROZEN', balance: '3.00', version: '4' });
    });

    it('is refused on a closed account with ACCOUNT_CLOSED', async () => {
      const accountId = await l.open();
      await l.call('CloseAccount', { accountId, reason: '' });
      await expectRejected(deposit(accountId, '1.00'), 'ACCOUNT_CLOSED');
      await expectFigures(accountId, '0.00', '0.00', '0.00', '2');
    });

    it('reaches exactly 2^53-1 minor units; one more minor unit is AMOUNT_OUT_OF_RANGE and changes nothing', async () => {
      const accountId = await l.open();
      expect((await deposit(accountId, MAX_USD)).account).toMatchObject({ balance: MAX_USD, available: MAX_USD });
      await expectRejected(deposit(accountId, '0.01'), 'AMOUNT_OUT_OF_RANGE');
      await expectRejected(deposit(accountId, MAX_USD), 'AMOUNT_OUT_OF_RANGE');
      await expectFigures(accountId, MAX_USD, '0.00', MAX_USD, '2');
      // the balance is still exact at the edge
      expect((await withdraw(accountId, '0.01')).account.balance).toBe('90071992547409.90');
    });

    it('rejects a single amount above 2^53-1 minor units as AMOUNT_OUT_OF_RANGE (USD and KRW)', async () => {
      const usd = await l.open();
      await expectRejected(deposit(usd, '90071992547409.92'), 'AMOUNT_OUT_OF_RANGE');
      await expectRejected(deposit(usd, '99999999999999999999'), 'AMOUNT_OUT_OF_RANGE');
      await expectFigures(usd, '0.00', '0.00', '0.00', '1');
      const krw = await l.open('KRW');
      expect((await deposit(krw, '9007199254740991', 'KRW')).account.balance).toBe('9007199254740991');
      await expectRejected(deposit(krw, '1', 'KRW'), 'AMOUNT_OUT_OF_RANGE');
      await expectRejected(deposit(krw, '9007199254740992', 'KRW'), 'AMOUNT_OUT_OF_RANGE');
      await expectFigures(krw, '9007199254740991', '0', '9007199254740991', '2');
    });

    it('fails with AMOUNT_OUT_OF_RANGE when a valid amount would push an existing balance past the edge', async () => {
      const accountId = await l.funded('1.00');
      await expectRejected(deposit(accountId, MAX_USD), 'AMOUNT_OUT_OF_RANGE');
      expect((await deposit(accountId, '90071992547408.91')).account.balance).toBe(MAX_USD);
    });
  });

  describe('Withdraw', () => {
    it('takes exactly the available amount; one minor unit more is INSUFFICIENT_FUNDS and changes nothing', async () => {
      const accountId = await l.funded('90.00');
      const error = await expectRejected(withdraw(accountId, '90.01'), 'INSUFFICIENT_FUNDS');
      expect(error.message).toBe('INSUFFICIENT_FUNDS: available 90.00 USD < 90.01 USD');
      await expectFigures(accountId, '90.00', '0.00', '90.00', '2');
      const reply = await withdraw(accountId, '90.00');
      expect(reply.replayed).toBe(false);
      expect(figures(reply.account)).toEqual({ balance: '0.00', held: '0.00', available: '0.00', version: '3' });
      const again = await expectRejected(withdraw(accountId, '0.01'), 'INSUFFICIENT_FUNDS');
      expect(again.message).toBe('INSUFFICIENT_FUNDS: available 0.00 USD < 0.01 USD');
      await expectFigures(accountId, '0.00', '0.00', '0.00', '3');
    });

    it('cannot take held funds: available = balance - held', async () => {
      const accountId = await l.funded('100.00');
      await l.reserve(accountId, '30.00');
      const error = await expectRejected(withdraw(accountId, '70.01'), 'INSUFFICIENT_FUNDS');
      expect(error.message).toBe('INSUFFICIENT_FUNDS: available 70.00 USD < 70.01 USD');
      await expectFigures(accountId, '100.00', '30.00', '70.00', '3');
      expect(figures((await withdraw(accountId, '70.00')).account)).toEqual({
        balance: '30.00',
        held: '30.00',
        available: '0.00',
        version: '4',
      });
    });

    it('goes down to exactly -overdraft_limit and not one minor unit further', async () => {
      const accountId = await l.open('USD', '50.00');
      await deposit(accountId, '10.00');
      await expectRejected(withdraw(accountId, '60.01'), 'INSUFFICIENT_FUNDS');
      await expectFigures(accountId, '10.00', '0.00', '10.00', '2');
      expect(figures((await withdraw(accountId, '60.00')).account)).toEqual({
        balance: '-50.00',
        held: '0.00',
        available: '-50.00',
        version: '3',
      });
      const error = await expectRejected(withdraw(accountId, '0.01'), 'INSUFFICIENT_FUNDS');
      expect(error.message).toBe('INSUFFICIENT_FUNDS: available -50.00 USD < 0.01 USD');
      await expectFigures(accountId, '-50.00', '0.00', '-50.00', '3');
      expect((await deposit(accountId, '50.00')).account.balance).toBe('0.00');
    });

    it('formats small negative balances with their sign and leading zero ("-0.05")', async () => {
      const accountId = await l.open('USD', '1.00');
      expect(figures((await withdraw(accountId, '0.05')).account)).toEqual({
        balance: '-0.05',
        held: '0.00',
        available: '-0.05',
        version: '2',
      });
      const bhd = await l.open('BHD', '1');
      expect((await withdraw(bhd, '0.001', 'BHD')).account.balance).toBe('-0.001');
    });

    it('works in KRW and BHD at their exact boundaries', async () => {
      const krw = await l.funded('1000', 'KRW');
      const krwError = await expectRejected(withdraw(krw, '1001', 'KRW'), 'INSUFFICIENT_FUNDS');
      expect(krwError.message).toBe('INSUFFICIENT_FUNDS: available 1000 KRW < 1001 KRW');
      expect((await withdraw(krw, '1000', 'KRW')).account).toMatchObject({
        balance: '0',
        available: '0',
        version: '3',
      });
      const bhd = await l.funded('1.5', 'BHD');
      const bhdError = await expectRejected(withdraw(bhd, '1.501', 'BHD'), 'INSUFFICIENT_FUNDS');
      expect(bhdError.message).toBe('INSUFFICIENT_FUNDS: available 1.500 BHD < 1.501 BHD');
      expect((await withdraw(bhd, '1.499', 'BHD')).account).toMatchObject({ balance: '0.001', version: '3' });
    });

    it('fails with AMOUNT_OUT_OF_RANGE below -(2^53-1) minor units even when the overdraft would allow it', async () => {
      const accountId = await l.open('USD', MAX_USD);
      expect(figures((await withdraw(accountId, MAX_USD)).account)).toEqual({
        balance: `-${MAX_USD}`,
        held: '0.00',
        available: `-${MAX_USD}`,
        version: '2',
      });
      await expectRejected(withdraw(accountId, '0.01'), 'AMOUNT_OUT_OF_RANGE');
      await expectFigures(accountId, `-${MAX_USD}`, '0.00', `-${MAX_USD}`, '2');
    });

    it('is refused on a frozen account with ACCOUNT_FROZEN, and allowed again after unfreeze', async () => {
      const accountId = await l.funded('10.00');
      await l.call('FreezeAccount', { accountId, reason: '' });
      await expectRejected(withdraw(accountId, '1.00'), 'ACCOUNT_FROZEN');
      await expectFigures(accountId, '10.00', '0.00', '10.00', '3');
      await l.call('UnfreezeAccount', { accountId, reason: '' });
      expect((await withdraw(accountId, '1.00')).account).toMatchObject({ balance: '9.00', version: '5' });
    });

    it('is refused on a closed account, an unknown account, another currency and an unknown currency', async () => {
      const closed = await l.open();
      await l.call('CloseAccount', { accountId: closed, reason: '' });
      await expectRejected(withdraw(closed, '1.00'), 'ACCOUNT_CLOSED');
      await expectRejected(withdraw(uid('ghost'), '1.00'), 'ACCOUNT_NOT_FOUND');
      const accountId = await l.funded('10.00');
      await expectRejected(withdraw(accountId, '1.00', 'EUR'), 'CURRENCY_MISMATCH');
      await expectRejected(withdraw(accountId, '1.00', 'XXZ'), 'UNKNOWN_CURRENCY');
      await expectFigures(accountId, '10.00', '0.00', '10.00', '2');
    });
  });

  describe('idempotency of transaction_id (one namespace for Deposit, Withdraw and Transfer)', () => {
    it('replays a deposit with its ORIGINAL reply, even after later changes, and credits once', async () => {
      const accountId = await l.open();
      const transactionId = uid('dep');
      const first = await deposit(accountId, '10.00', 'USD', transactionId, { note: 'x' });
      await deposit(accountId, '5.00');
      const replay = await deposit(accountId, '10.00', 'USD', transactionId, { note: 'x' });
      expect(replay.replayed).toBe(true);
      expect(replay.transactionId).toBe(transactionId);
      expect(replay.account).toEqual(first.account);
      expect(figures(replay.account)).toEqual({ balance: '10.00', held: '0.00', available: '10.00', version: '2' });
      await expectFigures(accountId, '15.00', '0.00', '15.00', '3');
    });

    it('replays a withdrawal with its original reply and debits once', async () => {
      const accountId = await l.funded('10.00');
      const transactionId = uid('wd');
      const first = await withdraw(accountId, '4.00', 'USD', transactionId);
      await deposit(accountId, '1.00');
      const replay = await withdraw(accountId, '4.00', 'USD', transactionId);
      expect(replay.replayed).toBe(true);
      expect(replay.account).toEqual(first.account);
      expect(replay.account).toMatchObject({ balance: '6.00', version: '3' });
      await expectFigures(accountId, '7.00', '0.00', '7.00', '4');
    });

    it('still replays after the account was frozen (the replay is not a new withdrawal)', async () => {
      const accountId = await l.funded('10.00');
      const transactionId = uid('wd');
      await withdraw(accountId, '4.00', 'USD', transactionId);
      await l.call('FreezeAccount', { accountId, reason: '' });
      const replay = await withdraw(accountId, '4.00', 'USD', transactionId);
      expect(replay.replayed).toBe(true);
      expect(replay.account).toMatchObject({ status: 'ACCOUNT_STATUS_OPEN', balance: '6.00', version: '3' });
      await expectFigures(accountId, '6.00', '0.00', '6.00', '4');
    });

    it('rejects the same id with another amount, currency or metadata as IDEMPOTENCY_CONFLICT', async () => {
      const accountId = await l.open();
      const transactionId = uid('dep');
      await deposit(accountId, '10.00', 'USD', transactionId);
      await expectRejected(deposit(accountId, '10.01', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(deposit(accountId, '10.00', 'USD', transactionId, { k: 'v' }), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(deposit(accountId, '10.00', 'EUR', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectFigures(accountId, '10.00', '0.00', '10.00', '2');
    });

    it('rejects the same id on another account as IDEMPOTENCY_CONFLICT, changing neither account', async () => {
      const a = await l.open();
      const b = await l.open();
      const transactionId = uid('dep');
      await deposit(a, '10.00', 'USD', transactionId);
      await expectRejected(deposit(b, '10.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectFigures(a, '10.00', '0.00', '10.00', '2');
      await expectFigures(b, '0.00', '0.00', '0.00', '1');
    });

    it('rejects the same id used by another RPC (deposit id reused for withdraw and transfer) as IDEMPOTENCY_CONFLICT', async () => {
      const a = await l.funded('50.00');
      const b = await l.open();
      const transactionId = uid('tx');
      await deposit(a, '10.00', 'USD', transactionId);
      await expectRejected(withdraw(a, '10.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(transfer(a, b, '10.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(transfer(b, a, '10.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectFigures(a, '60.00', '0.00', '60.00', '3');
      await expectFigures(b, '0.00', '0.00', '0.00', '1');
    });

    it('rejects a transfer id reused as a deposit on either side as IDEMPOTENCY_CONFLICT', async () => {
      const a = await l.funded('50.00');
      const b = await l.open();
      const transactionId = uid('tr');
      await transfer(a, b, '20.00', 'USD', transactionId);
      await expectRejected(deposit(a, '20.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(deposit(b, '20.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(withdraw(a, '20.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectFigures(a, '30.00', '0.00', '30.00', '3');
      await expectFigures(b, '20.00', '0.00', '20.00', '2');
    });

    it('records nothing for a rejected withdrawal: the same id succeeds once funds arrive', async () => {
      const accountId = await l.funded('1.00');
      const transactionId = uid('wd');
      await expectRejected(withdraw(accountId, '5.00', 'USD', transactionId), 'INSUFFICIENT_FUNDS');
      await deposit(accountId, '4.00');
      const reply = await withdraw(accountId, '5.00', 'USD', transactionId);
      expect(reply.replayed).toBe(false);
      expect(reply.account).toMatchObject({ balance: '0.00', version: '4' });
      expect((await withdraw(accountId, '5.00', 'USD', transactionId)).replayed).toBe(true);
    });

    it('does not burn a transaction_id on a deposit that failed because the account does not exist', async () => {
      // The rejected deposit changed nothing; retrying it on the right account must work.
      const transactionId = uid('dep');
      await expectRejected(deposit(uid('typo'), '1.00', 'USD', transactionId), 'ACCOUNT_NOT_FOUND');
      const accountId = await l.open();
      const reply = await deposit(accountId, '1.00', 'USD', transactionId);
      expect(reply.replayed).toBe(false);
      expect(reply.account).toMatchObject({ accountId, balance: '1.00', version: '2' });
    });
  });

  describe('Transfer', () => {
    it('debits the source and credits the destination, one version each', async () => {
      const a = await l.funded('100.00');
      const b = await l.funded('1.00');
      const transactionId = uid('tr');
      const reply = await transfer(a, b, '30.00', 'USD', transactionId);
      expect(reply.transactionId).toBe(transactionId);
      expect(reply.replayed).toBe(false);
      expect(reply.fromAccount).toMatchObject({
        accountId: a,
        balance: '70.00',
        held: '0.00',
        available: '70.00',
        version: '3',
      });
      expect(reply.toAccount).toMatchObject({
        accountId: b,
        balance: '31.00',
        held: '0.00',
        available: '31.00',
        version: '3',
      });
      await expectFigures(a, '70.00', '0.00', '70.00', '3');
      await expectFigures(b, '31.00', '0.00', '31.00', '3');
    });

    it('moves exactly the available amount; one minor unit more is INSUFFICIENT_FUNDS and changes neither account', async () => {
      const a = await l.funded('50.00');
      await l.reserve(a, '10.00');
      const b = await l.open();
      const error = await expectRejected(transfer(a, b, '40.01'), 'INSUFFICIENT_FUNDS');
      expect(error.message).toBe('INSUFFICIENT_FUNDS: available 40.00 USD < 40.01 USD');
      await expectFigures(a, '50.00', '10.00', '40.00', '3');
      await expectFigures(b, '0.00', '0.00', '0.00', '1');
      const reply = await transfer(a, b, '40.00');
      expect(figures(reply.fromAccount)).toEqual({ balance: '10.00', held: '10.00', available: '0.00', version: '4' });
      expect(figures(reply.toAccount)).toEqual({ balance: '40.00', held: '0.00', available: '40.00', version: '2' });
    });

    it('may use the source overdraft down to exactly -overdraft_limit', async () => {
      const a = await l.open('USD', '25.00');
      const b = await l.open();
      await expectRejected(transfer(a, b, '25.01'), 'INSUFFICIENT_FUNDS');
      await expectFigures(a, '0.00', '0.00', '0.00', '1');
      await expectFigures(b, '0.00', '0.00', '0.00', '1');
      const reply = await transfer(a, b, '25.00');
      expect(reply.fromAccount).toMatchObject({ balance: '-25.00', available: '-25.00', version: '2' });
      expect(reply.toAccount).toMatchObject({ balance: '25.00', version: '2' });
    });

    it('transfers KRW and BHD exactly', async () => {
      const a = await l.funded('5000', 'KRW');
      const b = await l.open('KRW');
      const krw = await transfer(a, b, '1234', 'KRW');
      expect([krw.fromAccount.balance, krw.toAccount.balance]).toEqual(['3766', '1234']);
      await expectRejected(transfer(a, b, '1.5', 'KRW'), 'INVALID_AMOUNT');
      const c = await l.funded('2.002', 'BHD');
      const d = await l.open('BHD');
      const bhd = await transfer(c, d, '0.001', 'BHD');
      expect([bhd.fromAccount.balance, bhd.toAccount.balance]).toEqual(['2.001', '0.001']);
    });

    it('rejects from == to as INVALID_ARGUMENT', async () => {
      const a = await l.funded('10.00');
      const error = await expectRejected(transfer(a, a, '1.00'), 'INVALID_ARGUMENT');
      expect(error.message).toContain('from_account_id');
      await expectFigures(a, '10.00', '0.00', '10.00', '2');
    });

    it('validates both account ids and the amount', async () => {
      const a = await l.funded('10.00');
      expect((await expectRejected(transfer('', a, '1.00'), 'INVALID_ARGUMENT')).message).toContain('from_account_id');
      expect((await expectRejected(transfer(a, 'b c', '1.00'), 'INVALID_ARGUMENT')).message).toContain('to_account_id');
      await expectRejected(transfer(a, 'x'.repeat(65), '1.00'), 'INVALID_ARGUMENT');
      const b = await l.open();
      for (const amount of ['0', '-1.00', '1e1', '1.001', ' 1']) {
        await expectRejected(transfer(a, b, amount), 'INVALID_AMOUNT');
      }
      await expectRejected(
        l.call('Transfer', { transactionId: uid('tr'), fromAccountId: a, toAccountId: b }),
        'INVALID_ARGUMENT',
      );
      await expectFigures(a, '10.00', '0.00', '10.00', '2');
      await expectFigures(b, '0.00', '0.00', '0.00', '1');
    });

    it('rejects another currency than either account holds as CURRENCY_MISMATCH, changing nothing', async () => {
      const usd = await l.funded('10.00');
      const eur = await l.open('EUR');
      const usd2 = await l.open();
      await expectRejected(transfer(usd, usd2, '1.00', 'EUR'), 'CURRENCY_MISMATCH');
      const toEur = await expectRejected(transfer(usd, eur, '1.00', 'USD'), 'CURRENCY_MISMATCH');
      expect(toEur.message).toContain(eur);
      await expectRejected(transfer(usd, eur, '1.00', 'EUR'), 'CURRENCY_MISMATCH');
      await expectFigures(usd, '10.00', '0.00', '10.00', '2');
      await expectFigures(eur, '0.00', '0.00', '0.00', '1');
      await expectFigures(usd2, '0.00', '0.00', '0.00', '1');
    });

    it('fails with ACCOUNT_NOT_FOUND for an unknown source or destination, changing nothing', async () => {
      const a = await l.funded('10.00');
      const ghost = uid('ghost');
      expect((await expectRejected(transfer(a, ghost, '1.00'), 'ACCOUNT_NOT_FOUND')).message).toContain(ghost);
      expect((await expectRejected(transfer(ghost, a, '1.00'), 'ACCOUNT_NOT_FOUND')).message).toContain(ghost);
      await expectFigures(a, '10.00', '0.00', '10.00', '2');
    });

    it('refuses an outgoing transfer from a frozen account (ACCOUNT_FROZEN) but accepts an incoming one', async () => {
      const frozen = await l.funded('10.00');
      const other = await l.funded('10.00');
      await l.call('FreezeAccount', { accountId: frozen, reason: '' });
      await expectRejected(transfer(frozen, other, '1.00'), 'ACCOUNT_FROZEN');
      await expectFigures(frozen, '10.00', '0.00', '10.00', '3');
      await expectFigures(other, '10.00', '0.00', '10.00', '2');
      const reply = await transfer(other, frozen, '4.00');
      expect(reply.toAccount).toMatchObject({ status: 'ACCOUNT_STATUS_FROZEN', balance: '14.00', version: '4' });
      expect(reply.fromAccount).toMatchObject({ balance: '6.00', version: '3' });
    });

    it('is all or nothing with a closed destination: ACCOUNT_CLOSED, neither balance nor version changes', async () => {
      const a = await l.funded('10.00');
      const closed = await l.open();
      await l.call('CloseAccount', { accountId: closed, reason: '' });
      await expectRejected(transfer(a, closed, '1.00'), 'ACCOUNT_CLOSED');
      await expectFigures(a, '10.00', '0.00', '10.00', '2');
      expect(await l.account(closed)).toMatchObject({ status: 'ACCOUNT_STATUS_CLOSED', balance: '0.00', version: '2' });
      await expectRejected(transfer(closed, a, '1.00'), 'ACCOUNT_CLOSED');
      await expectFigures(a, '10.00', '0.00', '10.00', '2');
    });

    it('is all or nothing at the range edge: a credit past 2^53-1 fails with AMOUNT_OUT_OF_RANGE and debits nothing', async () => {
      const full = await l.funded(MAX_USD);
      const a = await l.funded('10.00');
      await expectRejected(transfer(a, full, '0.01'), 'AMOUNT_OUT_OF_RANGE');
      await expectFigures(a, '10.00', '0.00', '10.00', '2');
      await expectFigures(full, MAX_USD, '0.00', MAX_USD, '2');
    });

    it('replays with the ORIGINAL reply of both accounts, moving money once', async () => {
      const a = await l.funded('100.00');
      const b = await l.open();
      const transactionId = uid('tr');
      const first = await transfer(a, b, '10.00', 'USD', transactionId, { ref: 'inv-1' });
      await transfer(a, b, '1.00');
      const replay = await transfer(a, b, '10.00', 'USD', transactionId, { ref: 'inv-1' });
      expect(replay.replayed).toBe(true);
      expect(replay.transactionId).toBe(transactionId);
      expect(replay.fromAccount).toEqual(first.fromAccount);
      expect(replay.toAccount).toEqual(first.toAccount);
      expect(figures(replay.fromAccount)).toEqual({ balance: '90.00', held: '0.00', available: '90.00', version: '3' });
      expect(figures(replay.toAccount)).toEqual({ balance: '10.00', held: '0.00', available: '10.00', version: '2' });
      await expectFigures(a, '89.00', '0.00', '89.00', '4');
      await expectFigures(b, '11.00', '0.00', '11.00', '3');
    });

    it('rejects the same id with another amount, destination, source or metadata as IDEMPOTENCY_CONFLICT', async () => {
      const a = await l.funded('100.00');
      const b = await l.open();
      const c = await l.funded('100.00');
      const transactionId = uid('tr');
      await transfer(a, b, '10.00', 'USD', transactionId);
      await expectRejected(transfer(a, b, '10.01', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(transfer(a, c, '10.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(transfer(c, b, '10.00', 'USD', transactionId), 'IDEMPOTENCY_CONFLICT');
      await expectRejected(transfer(a, b, '10.00', 'USD', transactionId, { k: 'v' }), 'IDEMPOTENCY_CONFLICT');
      await expectFigures(a, '90.00', '0.00', '90.00', '3');
      await expectFigures(b, '10.00', '0.00', '10.00', '2');
      await expectFigures(c, '100.00', '0.00', '100.00', '2');
    });
  });
});
