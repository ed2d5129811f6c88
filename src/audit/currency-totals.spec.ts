import { foldEvents } from '../ledger/domain/account';
import type { LedgerEvent } from '../ledger/domain/events';
import { RedisKeys } from '../infrastructure/redis/redis-keys';
import { History } from './audit.test-support';
import { CurrencyTotals } from './currency-totals';
import { parseScannedKey } from './redis-reader';

function totalsOf(histories: History[], redisBalance: (id: string, balance: bigint) => bigint | undefined) {
  const totals = new CurrencyTotals();
  for (const h of histories) {
    for (const e of h.events) totals.addEvent(e);
    const state = foldEvents(h.events);
    if (!state) throw new Error('no state');
    totals.addAccount(state, redisBalance(h.accountId, state.balance));
  }
  return totals;
}

describe('CurrencyTotals', () => {
  const a = new History('a').open().deposit('d1', 1000n).transferOut('t1', 'b', 300n);
  const b = new History('b').open().transferIn('t1', 'a', 300n).reserve('r', 100n).commit('r', 'c', 40n);
  const yen = new History('y', 'JPY').open().deposit('d2', 7n);

  it('holds when transfers pair up and balances = deposits - withdrawals - commits, per currency', () => {
    const totals = totalsOf([a, b, yen], (_, balance) => balance);
    expect(totals.check()).toEqual([]);
    expect(totals.summary()).toEqual([
      { currency: 'JPY', accounts: 1, balances: '7' },
      { currency: 'USD', accounts: 2, balances: '960' },
    ]);
  });

  it('names the currency of a debit without its credit, and of a Redis balance off by one', () => {
    const lonely = new History('c').open().deposit('d3', 50n).transferOut('t2', 'nobody', 10n);
    const totals = totalsOf([a, b, lonely], (id, balance) => (id === 'b' ? balance + 1n : balance));
    expect(totals.check().map((d) => `${d.account} ${d.field}`)).toEqual([
      'currency USD transfers',
      'currency USD conservation',
      'currency USD conservation.redis',
    ]);
  });

  it('names the currency whose folded balances do not add up to its movements', () => {
    const totals = new CurrencyTotals();
    const e = a.events[1] as LedgerEvent;
    totals.addEvent(e);
    totals.addEvent({ ...e, eventId: 'extra' });
    const state = foldEvents(a.events.slice(0, 2));
    if (!state) throw new Error('no state');
    totals.addAccount(state, undefined);
    expect(totals.check().map((d) => d.field)).toEqual(['conservation']);
  });
});

describe('parseScannedKey', () => {
  it('reads back the account and reservation keys RedisKeys makes, and nothing else', () => {
    const keys = new RedisKeys(16);
    expect(parseScannedKey(keys.account('acct:with:colons'))).toEqual({
      kind: 'account',
      bucket: keys.bucketOf('acct:with:colons'),
      id: 'acct:with:colons',
      key: keys.account('acct:with:colons'),
    });
    expect(parseScannedKey(keys.reservation('a1', 'res-1'))).toMatchObject({
      kind: 'reservation',
      bucket: keys.bucketOf('a1'),
      id: 'res-1',
    });
    for (const other of [
      keys.outbox('a1'),
      keys.expiryIndex('a1'),
      keys.idempotency('a1', 'tx', 'x'),
      keys.claim('res', 'r'),
    ]) {
      expect(parseScannedKey(other)).toBeUndefined();
    }
  });
});
