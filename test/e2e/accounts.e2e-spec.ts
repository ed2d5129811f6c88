import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import type { Reply } from '../support/ledger-client';
import { expectRejected, figures, LedgerDriver, money } from '../support/ledger-expect';

// Calls wait for durable acks (Postgres) and machines are shared: generous per-test budget;
// liveness bounds that matter are asserted explicitly inside the tests.
jest.setTimeout(30_000);

describe('accounts: OpenAccount, GetAccount, FreezeAccount, UnfreezeAccount, CloseAccount', () => {
  let ledger: RunningLedger;
  let l: LedgerDriver;
  beforeAll(async () => {
    ledger = await startLedger();
    l = new LedgerDriver(ledger.client);
  });
  afterAll(async () => {
    await ledger.close();
  });

  const open = (request: object): Promise<Reply> => l.call('OpenAccount', request);
  const freeze = (accountId: string, reason = ''): Promise<Reply> => l.call('FreezeAccount', { accountId, reason });
  const unfreeze = (accountId: string, reason = ''): Promise<Reply> => l.call('UnfreezeAccount', { accountId, reason });
  const close = (accountId: string, reason = ''): Promise<Reply> => l.call('CloseAccount', { accountId, reason });

  /** The account must not exist: a rejected OpenAccount created nothing. */
  async function expectNoAccount(accountId: string): Promise<void> {
    await expectRejected(l.call('GetAccount', { accountId }), 'ACCOUNT_NOT_FOUND');
  }

  describe('OpenAccount', () => {
    it('opens an empty USD account at version 1 with every field of the contract', async () => {
      const accountId = uid('acct');
      const before = Math.floor(Date.now() / 1000);
      const reply = await open({ accountId, currency: 'USD', metadata: { owner: 'alice' } });
      const after = Math.ceil(Date.now() / 1000);
      expect(reply.replayed).toBe(false);
      expect(reply.account).toMatchObject({
        accountId,
        currency: 'USD',
        status: 'ACCOUNT_STATUS_OPEN',
        balance: '0.00',
        held: '0.00',
        available: '0.00',
        overdraftLimit: '0.00',
        version: '1',
        metadata: { owner: 'alice' },
      });
      const openedAt = Number(reply.account.openedAt.seconds);
      expect(openedAt).toBeGreaterThanOrEqual(before - 1);
      expect(openedAt).toBeLessThanOrEqual(after + 1);
    });

    it('GetAccount returns the stored state, replayed=false', async () => {
      const accountId = uid('acct');
      const opened = await open({ accountId, currency: 'EUR', overdraftLimit: '12.5', metadata: { k: 'v' } });
      const got = await l.call('GetAccount', { accountId });
      expect(got.replayed).toBe(false);
      expect(got.account).toEqual(opened.account);
      expect(got.account).toMatchObject({ currency: 'EUR', overdraftLimit: '12.50', available: '0.00', version: '1' });
    });

    it('formats a scale-0 currency (KRW) without decimals and a scale-3 currency (BHD) with three', async () => {
      const krw = await open({ accountId: uid('krw'), currency: 'KRW', overdraftLimit: '1000' });
      expect(krw.account).toMatchObject({ balance: '0', held: '0', available: '0', overdraftLimit: '1000' });
      const bhd = await open({ accountId: uid('bhd'), currency: 'BHD', overdraftLimit: '1.5' });
      expect(bhd.account).toMatchObject({
        balance: '0.000',
        held: '0.000',
        available: '0.000',
        overdraftLimit: '1.500',
      });
      const jpy = await open({ accountId: uid('jpy'), currency: 'JPY' });
      expect(jpy.account).toMatchObject({ balance: '0', overdraftLimit: '0' });
    });

    it('replays the same open (same currency, limit and metadata) with the current state, writing nothing', async () => {
      const accountId = uid('acct');
      const first = await open({ accountId, currency: 'USD', overdraftLimit: '5.00', metadata: { a: '1', b: '2' } });
      await l.deposit(accountId, '25.00');
      const again = await open({ accountId, currency: 'USD', overdraftLimit: '5.00', metadata: { a: '1', b: '2' } });
      expect(again.replayed).toBe(true);
      expect(figures(again.account)).toEqual({ balance: '25.00', held: '0.00', available: '25.00', version: '2' });
      expect(again.account.openedAt).toEqual(first.account.openedAt);
      expect(figures(await l.account(accountId)).version).toBe('2');
    });

    it('treats metadata as a map: the order of entries does not matter for the replay', async () => {
      const accountId = uid('acct');
      await open({ accountId, currency: 'USD', metadata: { zeta: 'z', alpha: 'a', mid: 'm' } });
      const again = await open({ accountId, currency: 'USD', metadata: { mid: 'm', alpha: 'a', zeta: 'z' } });
      expect(again.replayed).toBe(true);
      expect(again.account.metadata).toEqual({ alpha: 'a', mid: 'm', zeta: 'z' });
    });

    it('compares the overdraft limit by value: "", "0" and "0.00" are the same limit', async () => {
      const accountId = uid('acct');
      await open({ accountId, currency: 'USD', overdraftLimit: '' });
      expect((await open({ accountId, currency: 'USD', overdraftLimit: '0' })).replayed).toBe(true);
      expect((await open({ accountId, currency: 'USD', overdraftLimit: '0.00' })).replayed).toBe(true);
      const other = uid('acct');
      await open({ accountId: other, currency: 'USD', overdraftLimit: '7.5' });
      const replay = await open({ accountId: other, currency: 'USD', overdraftLimit: '7.50' });
      expect(replay.replayed).toBe(true);
      expect(replay.account.overdraftLimit).toBe('7.50');
    });

    it('rejects the same id with another currency as ACCOUNT_EXISTS and leaves the account as it was', async () => {
      const accountId = uid('acct');
      await open({ accountId, currency: 'USD' });
      const error = await expectRejected(open({ accountId, currency: 'EUR' }), 'ACCOUNT_EXISTS');
      expect(error.message).toContain(accountId);
      expect(await l.account(accountId)).toMatchObject({ currency: 'USD', version: '1' });
    });

    it('rejects the same id with another overdraft limit as ACCOUNT_EXISTS', async () => {
      const accountId = uid('acct');
      await open({ accountId, currency: 'USD', overdraftLimit: '10.00' });
      await expectRejected(open({ accountId, currency: 'USD', overdraftLimit: '10.01' }), 'ACCOUNT_EXISTS');
      await expectRejected(open({ accountId, currency: 'USD' }), 'ACCOUNT_EXISTS');
      expect(await l.account(accountId)).toMatchObject({ overdraftLimit: '10.00', version: '1' });
    });

    it('rejects the same id with other metadata as ACCOUNT_EXISTS (another value, an extra entry, none)', async () => {
      const accountId = uid('acct');
      await open({ accountId, currency: 'USD', metadata: { desk: 'eq' } });
      await expectRejected(open({ accountId, currency: 'USD', metadata: { desk: 'fx' } }), 'ACCOUNT_EXISTS');
      await expectRejected(open({ accountId, currency: 'USD', metadata: { desk: 'eq', x: 'y' } }), 'ACCOUNT_EXISTS');
      await expectRejected(open({ accountId, currency: 'USD' }), 'ACCOUNT_EXISTS');
      expect(await l.account(accountId)).toMatchObject({ metadata: { desk: 'eq' }, version: '1' });
    });

    it.each([['XYZ'], ['usd'], [''], ['US'], ['U$D']])(
      'rejects currency %j as UNKNOWN_CURRENCY and creates nothing',
      async (currency) => {
        const accountId = uid('acct');
        await expectRejected(open({ accountId, currency }), 'UNKNOWN_CURRENCY');
        await expectNoAccount(accountId);
      },
    );

    it.each([
      ['abc', 'USD'],
      ['-1', 'USD'],
      ['+1', 'USD'],
      ['1e3', 'USD'],
      [' 1', 'USD'],
      ['1 ', 'USD'],
      ['1.001', 'USD'],
      ['1.', 'USD'],
      ['.5', 'USD'],
      ['1,000', 'USD'],
      ['NaN', 'USD'],
      ['1.5', 'KRW'],
      ['1.0001', 'BHD'],
    ])('rejects overdraft_limit %j for %s as INVALID_AMOUNT and creates nothing', async (overdraftLimit, currency) => {
      const accountId = uid('acct');
      await expectRejected(open({ accountId, currency, overdraftLimit }), 'INVALID_AMOUNT');
      await expectNoAccount(accountId);
    });

    it('accepts an overdraft limit of exactly 2^53-1 minor units and rejects one more as AMOUNT_OUT_OF_RANGE', async () => {
      const maxId = uid('acct');
      const max = await open({ accountId: maxId, currency: 'USD', overdraftLimit: '90071992547409.91' });
      expect(max.account).toMatchObject({ overdraftLimit: '90071992547409.91', available: '0.00' });
      const overId = uid('acct');
      await expectRejected(
        open({ accountId: overId, currency: 'USD', overdraftLimit: '90071992547409.92' }),
        'AMOUNT_OUT_OF_RANGE',
      );
      await expectNoAccount(overId);
      const krwId = uid('acct');
      await expectRejected(
        open({ accountId: krwId, currency: 'KRW', overdraftLimit: '9007199254740992' }),
        'AMOUNT_OUT_OF_RANGE',
      );
      await expectNoAccount(krwId);
    });

    it('accepts account ids of 1 and 64 chars using every allowed character', async () => {
      const base = uid('A-z.0:9_');
      const long = (base + 'x'.repeat(64)).slice(0, 64);
      expect(long).toHaveLength(64);
      expect((await open({ accountId: long, currency: 'USD' })).account.accountId).toBe(long);
      const allChars = `${uid('id')}.ABCXYZ_abcxyz-0189:`;
      expect((await open({ accountId: allChars, currency: 'USD' })).account.accountId).toBe(allChars);
      // A one-char id may exist from an earlier run: then the same open is a replay, still a success.
      const one = String.fromCharCode(97 + Math.floor(Math.random() * 26));
      const reply = await open({ accountId: one, currency: 'USD' });
      expect(reply.account).toMatchObject({ accountId: one, currency: 'USD' });
    });

    it('rejects an account id of 65 chars as INVALID_ARGUMENT', async () => {
      const accountId = (uid('acct') + 'y'.repeat(65)).slice(0, 65);
      const error = await expectRejected(open({ accountId, currency: 'USD' }), 'INVALID_ARGUMENT');
      expect(error.message).toContain('account_id');
      await expectRejected(l.call('GetAccount', { accountId }), 'INVALID_ARGUMENT');
    });

    it.each([[''], ['a b'], ['a/b'], ['a|b'], ['a{b}'], ['é'], ['a\nb'], ['acct#1'], ['a\u0000b']])(
      'rejects account id %j as INVALID_ARGUMENT',
      async (accountId) => {
        const error = await expectRejected(open({ accountId, currency: 'USD' }), 'INVALID_ARGUMENT');
        expect(error.message).toContain('account_id');
      },
    );

    it('accepts 16 metadata entries and rejects 17', async () => {
      const sixteen = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, `v${i}`]));
      const ok = await open({ accountId: uid('acct'), currency: 'USD', metadata: sixteen });
      expect(ok.account.metadata).toEqual(sixteen);
      const seventeen = { ...sixteen, k16: 'v16' };
      const accountId = uid('acct');
      const error = await expectRejected(open({ accountId, currency: 'USD', metadata: seventeen }), 'INVALID_ARGUMENT');
      expect(error.message).toContain('metadata');
      await expectNoAccount(accountId);
    });

    it('accepts metadata keys of 64 chars and values of 256 chars; rejects 65 and 257', async () => {
      const key64 = 'k'.repeat(64);
      const value256 = 'v'.repeat(256);
      const ok = await open({ accountId: uid('acct'), currency: 'USD', metadata: { [key64]: value256 } });
      expect(ok.account.metadata).toEqual({ [key64]: value256 });
      const badKey = uid('acct');
      await expectRejected(
        open({ accountId: badKey, currency: 'USD', metadata: { ['k'.repeat(65)]: 'v' } }),
        'INVALID_ARGUMENT',
      );
      await expectNoAccount(badKey);
      const badValue = uid('acct');
      await expectRejected(
        open({ accountId: badValue, currency: 'USD', metadata: { k: 'v'.repeat(257) } }),
        'INVALID_ARGUMENT',
      );
      await expectNoAccount(badValue);
    });

    it('rejects an empty metadata key as INVALID_ARGUMENT', async () => {
      const accountId = uid('acct');
      await expectRejected(open({ accountId, currency: 'USD', metadata: { '': 'v' } }), 'INVALID_ARGUMENT');
      await expectNoAccount(accountId);
    });

    it('counts metadata lengths in characters (code points), not bytes or UTF-16 units', async () => {
      const hangul = '한'.repeat(256);
      const emoji = '😀'.repeat(256);
      const ok = await open({
        accountId: uid('acct'),
        currency: 'USD',
        metadata: { h: hangul, e: emoji, ['키'.repeat(64)]: 'x' },
      });
      expect(ok.account.metadata).toEqual({ h: hangul, e: emoji, ['키'.repeat(64)]: 'x' });
      await expectRejected(
        open({ accountId: uid('acct'), currency: 'USD', metadata: { h: '한'.repeat(257) } }),
        'INVALID_ARGUMENT',
      );
      await expectRejected(
        open({ accountId: uid('acct'), currency: 'USD', metadata: { e: '😀'.repeat(257) } }),
        'INVALID_ARGUMENT',
      );
    });

    it('round-trips metadata with JSON-special and non-ASCII characters exactly', async () => {
      const accountId = uid('acct');
      const metadata = {
        quote: 'say "hi"',
        slash: 'a/b\\c',
        line: 'x\ny\tz',
        uni: 'Ünïcødé 계좌 ✓',
        '{}': '[]',
        empty: '',
      };
      const opened = await open({ accountId, currency: 'USD', metadata });
      expect(opened.account.metadata).toEqual(metadata);
      expect((await l.account(accountId)).metadata).toEqual(metadata);
      const replay = await open({ accountId, currency: 'USD', metadata });
      expect(replay.replayed).toBe(true);
      expect(replay.account.metadata).toEqual(metadata);
    });
  });

  describe('GetAccount', () => {
    it('fails with ACCOUNT_NOT_FOUND for an unknown id, naming it', async () => {
      const accountId = uid('ghost');
      const error = await expectRejected(l.call('GetAccount', { accountId }), 'ACCOUNT_NOT_FOUND');
      expect(error.message).toContain(accountId);
    });

    it('fails with INVALID_ARGUMENT for an empty or malformed id', async () => {
      await expectRejected(l.call('GetAccount', { accountId: '' }), 'INVALID_ARGUMENT');
      await expectRejected(l.call('GetAccount', { accountId: 'a b' }), 'INVALID_ARGUMENT');
    });

    it('shows balance, held and available after movements and holds', async () => {
      const accountId = await l.funded('100.00');
      await l.reserve(accountId, '30.25');
      expect(figures(await l.account(accountId))).toEqual({
        balance: '100.00',
        held: '30.25',
        available: '69.75',
        version: '3',
      });
    });
  });

  describe('FreezeAccount / UnfreezeAccount', () => {
    it('freezes (version +1), and freezing again is a replay with no new version', async () => {
      const accountId = await l.funded('10.00');
      const frozen = await freeze(accountId, 'compliance review');
      expect(frozen.replayed).toBe(false);
      expect(frozen.account).toMatchObject({ status: 'ACCOUNT_STATUS_FROZEN', version: '3', balance: '10.00' });
      const again = await freeze(accountId, 'another reason');
      expect(again.replayed).toBe(true);
      expect(again.account).toMatchObject({ status: 'ACCOUNT_STATUS_FROZEN', version: '3' });
      expect(await l.account(accountId)).toMatchObject({ status: 'ACCOUNT_STATUS_FROZEN', version: '3' });
    });

    it('unfreezes (version +1), and unfreezing an open account is a replay with no new version', async () => {
      const accountId = await l.open();
      const fresh = await unfreeze(accountId);
      expect(fresh.replayed).toBe(true);
      expect(fresh.account).toMatchObject({ status: 'ACCOUNT_STATUS_OPEN', version: '1' });
      await freeze(accountId);
      const open1 = await unfreeze(accountId, 'cleared');
      expect(open1.replayed).toBe(false);
      expect(open1.account).toMatchObject({ status: 'ACCOUNT_STATUS_OPEN', version: '3' });
      const open2 = await unfreeze(accountId);
      expect(open2.replayed).toBe(true);
      expect(open2.account).toMatchObject({ status: 'ACCOUNT_STATUS_OPEN', version: '3' });
    });

    it('keeps balance and holds through freeze and unfreeze, and OpenAccount replays the frozen state', async () => {
      const accountId = await l.funded('50.00');
      await l.reserve(accountId, '20.00');
      await freeze(accountId);
      const replay = await open({ accountId, currency: 'USD' });
      expect(replay.replayed).toBe(true);
      expect(replay.account).toMatchObject({
        status: 'ACCOUNT_STATUS_FROZEN',
        balance: '50.00',
        held: '20.00',
        available: '30.00',
        version: '4',
      });
      const reopened = await unfreeze(accountId);
      expect(figures(reopened.account)).toEqual({ balance: '50.00', held: '20.00', available: '30.00', version: '5' });
    });

    it.each([['FreezeAccount'], ['UnfreezeAccount'], ['CloseAccount']])(
      '%s on an unknown account fails with ACCOUNT_NOT_FOUND',
      async (method) => {
        const accountId = uid('ghost');
        const error = await expectRejected(l.call(method, { accountId, reason: '' }), 'ACCOUNT_NOT_FOUND');
        expect(error.message).toContain(accountId);
        await expectNoAccount(accountId);
      },
    );

    it.each([['FreezeAccount'], ['UnfreezeAccount'], ['CloseAccount']])(
      '%s validates the account id and the reason length',
      async (method) => {
        await expectRejected(l.call(method, { accountId: '', reason: '' }), 'INVALID_ARGUMENT');
        await expectRejected(l.call(method, { accountId: 'x'.repeat(65), reason: '' }), 'INVALID_ARGUMENT');
        const accountId = await l.open();
        const error = await expectRejected(l.call(method, { accountId, reason: 'r'.repeat(257) }), 'INVALID_ARGUMENT');
        expect(error.message).toContain('reason');
        expect(await l.account(accountId)).toMatchObject({ status: 'ACCOUNT_STATUS_OPEN', version: '1' });
        await l.call(method, { accountId, reason: 'r'.repeat(256) });
      },
    );
  });

  describe('CloseAccount', () => {
    it('closes an empty account (version +1); closing again is a replay', async () => {
      const accountId = await l.open();
      const closed = await close(accountId, 'customer request');
      expect(closed.replayed).toBe(false);
      expect(closed.account).toMatchObject({
        status: 'ACCOUNT_STATUS_CLOSED',
        balance: '0.00',
        held: '0.00',
        version: '2',
      });
      const again = await close(accountId);
      expect(again.replayed).toBe(true);
      expect(again.account).toMatchObject({ status: 'ACCOUNT_STATUS_CLOSED', version: '2' });
    });

    it('closes an account emptied by a withdrawal', async () => {
      const accountId = await l.funded('10.00');
      await l.call('Withdraw', { transactionId: uid('wd'), accountId, amount: money('10.00') });
      const closed = await close(accountId);
      expect(closed.account).toMatchObject({ status: 'ACCOUNT_STATUS_CLOSED', balance: '0.00', version: '4' });
    });

    it('closes a frozen empty account', async () => {
      const accountId = await l.open();
      await freeze(accountId);
      const closed = await close(accountId);
      expect(closed.replayed).toBe(false);
      expect(closed.account).toMatchObject({ status: 'ACCOUNT_STATUS_CLOSED', version: '3' });
    });

    it('refuses to close with a positive balance: ACCOUNT_NOT_EMPTY, nothing changes', async () => {
      const accountId = await l.funded('10.00');
      const error = await expectRejected(close(accountId), 'ACCOUNT_NOT_EMPTY');
      expect(error.message).toBe('ACCOUNT_NOT_EMPTY: balance 10.00 USD, held 0.00 USD');
      expect(await l.account(accountId)).toMatchObject({ status: 'ACCOUNT_STATUS_OPEN', version: '2' });
    });

    it('refuses to close with active holds even at zero balance (overdraft hold)', async () => {
      const accountId = await l.open('USD', '50.00');
      const reservation = await l.reserve(accountId, '20.00');
      expect(figures(reservation.account)).toEqual({
        balance: '0.00',
        held: '20.00',
        available: '-20.00',
        version: '2',
      });
      const error = await expectRejected(close(accountId), 'ACCOUNT_NOT_EMPTY');
      expect(error.message).toBe('ACCOUNT_NOT_EMPTY: balance 0.00 USD, held 20.00 USD');
      await l.call('ReleaseReservation', { reservationId: reservation.reservation.reservationId, reason: '' });
      expect((await close(accountId)).account).toMatchObject({ status: 'ACCOUNT_STATUS_CLOSED', version: '4' });
    });

    it('refuses to close with a negative balance (overdraft used)', async () => {
      const accountId = await l.open('USD', '50.00');
      await l.call('Withdraw', { transactionId: uid('wd'), accountId, amount: money('5.00') });
      const error = await expectRejected(close(accountId), 'ACCOUNT_NOT_EMPTY');
      expect(error.message).toBe('ACCOUNT_NOT_EMPTY: balance -5.00 USD, held 0.00 USD');
      expect(await l.account(accountId)).toMatchObject({
        status: 'ACCOUNT_STATUS_OPEN',
        balance: '-5.00',
        available: '-5.00',
        version: '2',
      });
    });

    it('is terminal: freeze, unfreeze, deposit, withdraw, reserve and incoming transfer all fail with ACCOUNT_CLOSED', async () => {
      const accountId = await l.open();
      await close(accountId);
      const source = await l.funded('10.00');
      await expectRejected(freeze(accountId), 'ACCOUNT_CLOSED');
      await expectRejected(unfreeze(accountId), 'ACCOUNT_CLOSED');
      await expectRejected(
        l.call('Deposit', { transactionId: uid('tx'), accountId, amount: money('1.00') }),
        'ACCOUNT_CLOSED',
      );
      await expectRejected(
        l.call('Withdraw', { transactionId: uid('tx'), accountId, amount: money('1.00') }),
        'ACCOUNT_CLOSED',
      );
      await expectRejected(l.reserve(accountId, '1.00'), 'ACCOUNT_CLOSED');
      await expectRejected(
        l.call('Transfer', {
          transactionId: uid('tx'),
          fromAccountId: source,
          toAccountId: accountId,
          amount: money('1.00'),
        }),
        'ACCOUNT_CLOSED',
      );
      expect(await l.account(accountId)).toMatchObject({
        status: 'ACCOUNT_STATUS_CLOSED',
        balance: '0.00',
        version: '2',
      });
      expect(figures(await l.account(source))).toEqual({
        balance: '10.00',
        held: '0.00',
        available: '10.00',
        version: '2',
      });
      const replay = await open({ accountId, currency: 'USD' });
      expect(replay.replayed).toBe(true);
      expect(replay.account).toMatchObject({ status: 'ACCOUNT_STATUS_CLOSED', version: '2' });
      await expectRejected(open({ accountId, currency: 'EUR' }), 'ACCOUNT_EXISTS');
    });
  });
});
