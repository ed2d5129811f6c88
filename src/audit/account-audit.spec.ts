import { foldEvents } from '../ledger/domain/account';
import type { LedgerEvent } from '../ledger/domain/events';
import { compareIdempotency, compareRedis, type RedisAccountRead, type StoredIdempotency } from './account-audit';
import { AccountFold } from './account-fold';
import { History, redisHashesOf } from './audit.test-support';

function folded(events: readonly LedgerEvent[], accountId = events[0]?.accountId ?? 'a'): AccountFold {
  const fold = new AccountFold(accountId);
  for (const e of events) fold.add(e);
  fold.finish();
  return fold;
}

/** What a healthy Redis holds for the fold's state: the hashes, expiry entries, no replay records. */
function healthyRead(fold: AccountFold): RedisAccountRead & {
  account: Record<string, string>;
  reservations: Map<string, Record<string, string>>;
  expiry: Map<string, string | null>;
  replies: Map<string, { requestHash: string | null; reply: string | null }>;
} {
  const state = fold.state;
  if (!state) throw new Error('no state');
  const { account, reservations } = redisHashesOf(state);
  const expiry = new Map<string, string | null>();
  for (const r of state.reservations.values()) {
    if (r.status === 'ACTIVE' && r.expiresAtMs > 0) expiry.set(r.reservationId, String(r.expiresAtMs));
  }
  return { account, reservations, expiry, replies: new Map() };
}

/** The ledger_idempotency rows a healthy store holds for the fold's hashed keys. */
function healthyRows(fold: AccountFold): Map<string, StoredIdempotency> {
  const rows = new Map<string, StoredIdempotency>();
  for (const [key, o] of fold.keys) {
    if (/^(open|tx|res|amend|commit):/.test(key))
      rows.set(key, { requestHash: 'h', version: o.version, eventId: o.eventId });
  }
  const open = [...rows.keys()].find((k) => k.startsWith('open:'));
  if (open) rows.set(open, { ...(rows.get(open) as StoredIdempotency), requestHash: 'h-open' });
  return rows;
}

const history = (): History =>
  new History('acct-1')
    .open()
    .deposit('dep-1', 10_000n)
    .reserve('r1', 3_000n, 1_800_000_000_000)
    .commit('r1', 'c1', 1_000n)
    .reserve('r2', 500n)
    .release('r2');

describe('AccountFold', () => {
  it('folds a consistent history without a difference, remembering the state after each key', () => {
    const fold = folded(history().events);
    expect(fold.differences).toEqual([]);
    expect(fold.usable).toBe(true);
    expect(fold.state).toEqual(foldEvents(history().events));
    expect(fold.keys.get('res:r1')).toMatchObject({ version: 3, account: { balance: 10_000n, held: 3_000n } });
    expect(fold.keys.get('res:r1')?.reservation).toMatchObject({ amount: 3_000n, committed: 0n, status: 'ACTIVE' });
  });

  it('names a version gap once, and stays quiet about the rest of the broken history', () => {
    const events = history().events.filter((e) => e.version !== 3);
    const fold = folded(events);
    expect(fold.differences).toEqual([
      { account: 'acct-1', field: 'postgres.version', detail: expect.stringContaining('has version 4, expected 3') },
    ]);
    expect(fold.usable).toBe(false);
    expect(fold.events).toBe(5);
  });

  it('names a stored balance_after that disagrees with the replay', () => {
    const events = history().events.map((e) => (e.version === 2 ? { ...e, balanceAfter: 9_999n } : e));
    expect(folded(events).differences).toEqual([
      { account: 'acct-1', field: 'postgres.events', detail: expect.stringContaining('balanceAfter/heldAfter 9999/0') },
    ]);
  });

  it('compares a snapshot with the fold at its version', () => {
    const events = history().events;
    const atThree = foldEvents(events.slice(0, 3));
    if (!atThree) throw new Error('no state');
    const good = new AccountFold('acct-1');
    good.expectSnapshot(atThree);
    const bad = new AccountFold('acct-1');
    bad.expectSnapshot({ ...atThree, balance: 1n, reservations: new Map() });
    for (const e of events) {
      good.add(e);
      bad.add(e);
    }
    good.finish();
    bad.finish();
    expect(good.differences).toEqual([]);
    expect(bad.differences.map((d) => d.field)).toEqual([
      'postgres.snapshot[v3].balance',
      'postgres.snapshot[v3].reservations[r1]',
    ]);
  });
});

describe('compareRedis', () => {
  it('finds nothing when Redis holds exactly the folded state', () => {
    const fold = folded(history().events);
    expect(compareRedis(fold, healthyRead(fold))).toEqual({ differences: [], missing: false, version: 6 });
  });

  it('names the account and the field of a corrupted balance', () => {
    const fold = folded(history().events);
    const read = healthyRead(fold);
    read.account['bal'] = '8999';
    expect(compareRedis(fold, read).differences).toEqual([
      { account: 'acct-1', field: 'balance', detail: 'redis "8999" != postgres "9000"' },
    ]);
  });

  it('names a reservation field, and the held that no longer matches the holds', () => {
    const fold = folded(history().events);
    const read = healthyRead(fold);
    (read.reservations.get('r1') as Record<string, string>)['com'] = '1500';
    expect(compareRedis(fold, read).differences.map((d) => d.field)).toEqual(['reservations[r1].committed', 'held']);
  });

  it('reports an ACTIVE hold missing in Redis and a missing expiry entry; not an ended one', () => {
    const fold = folded(history().events);
    const missingHold = healthyRead(fold);
    missingHold.reservations.set('r1', {});
    missingHold.account['held'] = '0';
    expect(compareRedis(fold, missingHold).differences.map((d) => d.field)).toEqual(['held', 'reservations[r1]']);
    const endedGone = healthyRead(fold);
    endedGone.reservations.set('r2', {});
    expect(compareRedis(fold, endedGone).differences).toEqual([]);
    const noExpiry = healthyRead(fold);
    noExpiry.expiry.set('r1', null);
    expect(compareRedis(fold, noExpiry).differences.map((d) => d.field)).toEqual(['expiry[r1]']);
  });

  it('treats an account Redis lost as missing (rebuilt on first use), not as a difference', () => {
    const fold = folded(history().events);
    expect(compareRedis(fold, { ...healthyRead(fold), account: {} })).toEqual({
      differences: [],
      missing: true,
      version: undefined,
    });
  });

  it('reports an unreadable hash instead of throwing', () => {
    const fold = folded(history().events);
    const read = healthyRead(fold);
    read.account['bal'] = 'lots';
    expect(compareRedis(fold, read).differences).toEqual([
      { account: 'acct-1', field: 'account', detail: expect.stringContaining('unreadable in redis') },
    ]);
  });
});

describe('compareIdempotency', () => {
  it('finds nothing when every hashed key has its record and Redis replays the state right after the call', () => {
    const fold = folded(history().events);
    const read = healthyRead(fold);
    read.replies.set('res:r1', {
      requestHash: 'h',
      reply: JSON.stringify({
        account: {
          id: 'acct-1',
          cur: 'USD',
          st: 'OPEN',
          bal: '10000',
          held: '3000',
          od: '0',
          ver: '3',
          opened: '0',
          meta: '{}',
        },
        reservation: {
          id: 'r1',
          acct: 'acct-1',
          cur: 'USD',
          amt: '3000',
          com: '0',
          st: 'ACTIVE',
          oid: 'o-r1',
          exp: '1800000000000',
          aver: '3',
        },
      }),
    });
    expect(compareIdempotency(fold, healthyRows(fold), read)).toEqual([]);
  });

  it('names a key without a ledger_idempotency record, and one whose record names another version', () => {
    const fold = folded(history().events);
    const rows = healthyRows(fold);
    rows.delete('tx:dep-1');
    rows.set('res:r1', { ...(rows.get('res:r1') as StoredIdempotency), version: 4 });
    expect(compareIdempotency(fold, rows, undefined).map((d) => d.field)).toEqual([
      'idempotency[tx:dep-1]',
      'idempotency[res:r1].version',
    ]);
  });

  it('names a replay record that answers the current state instead of the state right after the call', () => {
    const fold = folded(history().events);
    const read = healthyRead(fold);
    const now = {
      id: 'acct-1',
      cur: 'USD',
      st: 'OPEN',
      bal: '9000',
      held: '2000',
      od: '0',
      ver: '6',
      opened: '0',
      meta: '{}',
    };
    read.replies.set('tx:dep-1', { requestHash: 'h', reply: JSON.stringify({ account: now }) });
    expect(compareIdempotency(fold, healthyRows(fold), read).map((d) => d.field)).toEqual([
      'idempotency[tx:dep-1].reply.balance',
      'idempotency[tx:dep-1].reply.held',
      'idempotency[tx:dep-1].reply.version',
    ]);
  });

  it('compares the parameter hash of the account and of each replay record with the stored one', () => {
    const fold = folded(history().events);
    const read = healthyRead(fold);
    read.account['h'] = 'other';
    read.replies.set('tx:dep-1', { requestHash: 'changed', reply: '{"account":{"id":"someone-else"}}' });
    expect(compareIdempotency(fold, healthyRows(fold), read).map((d) => d.field)).toEqual([
      'idempotency[open:acct-1].request_hash',
      'idempotency[tx:dep-1].request_hash',
    ]);
  });
});
