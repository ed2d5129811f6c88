import { clientEventView, expectedProtoOfRow, mapLimit } from '../support/event-store-checks';
import { drained, type IsolatedLedger, pollUntil, startIsolatedLedger } from '../support/isolated-ledger';
import { timestampMs } from '../support/kafka-reader';
import { uid } from '../support/ledger-app';
import type { Reply } from '../support/ledger-client';
import { expectRejected, money } from '../support/ledger-expect';
import type { StoredEvent } from '../support/pg';

/**
 * Issue 3, test 6: ListAccountEvents paging (limit 1..1000, default 100, next_from_version 0 at
 * the end, from_version in the middle, unknown account NOT_FOUND, bad limit INVALID_ARGUMENT) and
 * GetBalanceAt at versions and times against a hand-computed history (balance, held, status at
 * each version; before the account existed NOT_FOUND; beyond the head INVALID_ARGUMENT).
 *
 * The account has 250 events, so snapshots (every 100 events by default) exist at v100 and v200
 * and the point-in-time reads above them start from a snapshot.
 */
describe('event store: ListAccountEvents paging and GetBalanceAt against a hand-computed history', () => {
  let iso: IsolatedLedger;
  beforeAll(async () => {
    iso = await startIsolatedLedger();
  });
  afterAll(async () => {
    await iso?.close();
  });

  const call = (method: string, request: object): Promise<Reply> => iso.ledger.client.call(method, request);

  const H = uid('hist');
  const K = uid('hist-k');
  const rA = uid('rA');
  const HEAD = 250;

  /** [version, type, balance, held, status] as computed by hand for the first nine events of H */
  const HAND: [number, string, string, string, string][] = [
    [1, 'ACCOUNT_OPENED', '0.00', '0.00', 'OPEN'],
    [2, 'FUNDS_DEPOSITED', '500.00', '0.00', 'OPEN'],
    [3, 'FUNDS_RESERVED', '500.00', '120.00', 'OPEN'],
    [4, 'RESERVATION_COMMITTED', '480.00', '100.00', 'OPEN'],
    [5, 'ACCOUNT_FROZEN', '480.00', '100.00', 'FROZEN'],
    [6, 'FUNDS_DEPOSITED', '490.00', '100.00', 'FROZEN'],
    [7, 'ACCOUNT_UNFROZEN', '490.00', '100.00', 'OPEN'],
    [8, 'FUNDS_WITHDRAWN', '400.00', '100.00', 'OPEN'],
    [9, 'RESERVATION_RELEASED', '400.00', '0.00', 'OPEN'],
  ];

  /** Hand-computed state after `version` of H: the nine above, then 1.00 per deposit. */
  function handAt(version: number): {
    version: string;
    balance: string;
    held: string;
    available: string;
    status: string;
  } {
    if (version <= 9) {
      const [v, , balance, held, status] = HAND[version - 1] as [number, string, string, string, string];
      const available = (Number(balance) - Number(held)).toFixed(2);
      return { version: String(v), balance, held, available, status: `ACCOUNT_STATUS_${status}` };
    }
    const balance = (400 + (version - 9)).toFixed(2);
    return { version: String(version), balance, held: '0.00', available: balance, status: 'ACCOUNT_STATUS_OPEN' };
  }

  const figuresOf = (a: Reply): Record<string, string> => ({
    version: a['version'],
    balance: a['balance'],
    held: a['held'],
    available: a['available'],
    status: a['status'],
  });

  const events: Reply[] = [];
  let openedAtMs = 0;

  it('builds a history of 250 events (9 by hand, then 241 deposits of 1.00)', async () => {
    await call('OpenAccount', { accountId: H, currency: 'USD', metadata: { book: 'h' } });
    await call('Deposit', { transactionId: uid('d'), accountId: H, amount: money('500.00') });
    await call('Reserve', { reservationId: rA, accountId: H, amount: money('120.00'), orderId: 'o', ttlSeconds: 0 });
    await call('CommitReservation', { reservationId: rA, commitId: uid('c'), amount: money('20.00'), final: false });
    await call('FreezeAccount', { accountId: H, reason: 'audit' });
    await call('Deposit', { transactionId: uid('d'), accountId: H, amount: money('10.00') });
    await call('UnfreezeAccount', { accountId: H, reason: 'audit done' });
    await call('Withdraw', { transactionId: uid('w'), accountId: H, amount: money('90.00') });
    const released = await call('ReleaseReservation', { reservationId: rA, reason: 'cancel' });
    expect(figuresOf(released.account)).toEqual(handAt(9));
    const replies = await mapLimit(Array.from({ length: HEAD - 9 }), 16, () =>
      call('Deposit', { transactionId: uid('d'), accountId: H, amount: money('1.00') }),
    );
    expect(replies.map((r) => Number(r.account.version)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: HEAD - 9 }, (_, i) => i + 10),
    );
    expect(figuresOf((await call('GetAccount', { accountId: H })).account)).toEqual(handAt(HEAD));
    // A second account that ends closed: open, deposit, withdraw it all, close.
    await call('OpenAccount', { accountId: K, currency: 'USD' });
    await call('Deposit', { transactionId: uid('d'), accountId: K, amount: money('5.00') });
    await call('Withdraw', { transactionId: uid('w'), accountId: K, amount: money('5.00') });
    await call('CloseAccount', { accountId: K, reason: 'done' });
    await drained(iso);
    // Snapshots at v100 and v200 are written in the background after the relay stored them.
    await pollUntil('snapshots of H at v100 and v200', async () => {
      const rows = await iso.db.query<{ v: string }>(
        `SELECT version::text AS v FROM ledger_snapshots WHERE account_id = $1 ORDER BY version`,
        [H],
      );
      return rows.map((r) => r.v).join(',') === '100,200' ? true : undefined;
    });
  });

  describe('ListAccountEvents', () => {
    it('pages with the default limit of 100: 1..100, 101..200, 201..250 then next_from_version 0', async () => {
      const pages: [string[], string][] = [];
      let from = '0';
      for (let i = 0; i < 5; i++) {
        const page = await call('ListAccountEvents', { accountId: H, fromVersion: from, limit: 0 });
        pages.push([
          [page.events[0]?.version, page.events.at(-1)?.version, String(page.events.length)],
          page.nextFromVersion,
        ]);
        events.push(...page.events);
        from = page.nextFromVersion;
        if (from === '0') break;
      }
      expect(pages).toEqual([
        [['1', '100', '100'], '101'],
        [['101', '200', '100'], '201'],
        [['201', '250', '50'], '0'],
      ]);
      expect(events.map((e) => Number(e.version))).toEqual(Array.from({ length: HEAD }, (_, i) => i + 1));
      openedAtMs = timestampMs(events[0]?.occurredAt);
    });

    it('lists exactly the stored rows, the first nine as computed by hand', async () => {
      const stored: StoredEvent[] = await iso.db.eventsOf(H);
      expect(events.map(clientEventView)).toEqual(stored.map(expectedProtoOfRow));
      expect(
        events
          .slice(0, 9)
          .map((e) => [Number(e.version), e.type.replace('EVENT_TYPE_', ''), e.balanceAfter, e.heldAfter]),
      ).toEqual(HAND.map(([v, type, balance, held]) => [v, type, balance, held]));
      expect(events.slice(0, 9).map((e) => [e.amount, e.reason])).toEqual([
        ['', ''],
        ['500.00', ''],
        ['120.00', ''],
        ['20.00', ''],
        ['', 'audit'],
        ['10.00', ''],
        ['', 'audit done'],
        ['90.00', ''],
        ['100.00', 'cancel'],
      ]);
    });

    it('limit 1 pages one event at a time; limit 1000 returns all 250 in one page', async () => {
      const one = await call('ListAccountEvents', { accountId: H, fromVersion: '0', limit: 1 });
      expect([one.events.map((e: Reply) => e.version), one.nextFromVersion]).toEqual([['1'], '2']);
      const next = await call('ListAccountEvents', { accountId: H, fromVersion: one.nextFromVersion, limit: 1 });
      expect([next.events.map((e: Reply) => e.version), next.nextFromVersion]).toEqual([['2'], '3']);
      const all = await call('ListAccountEvents', { accountId: H, fromVersion: '1', limit: 1000 });
      expect([all.events.length, all.events.at(-1).version, all.nextFromVersion]).toEqual([HEAD, String(HEAD), '0']);
    });

    it('from_version in the middle, at the last page boundary, at the head and past it', async () => {
      const versions = async (fromVersion: string, limit: number): Promise<[string[], string]> => {
        const page = await call('ListAccountEvents', { accountId: H, fromVersion, limit });
        return [page.events.map((e: Reply) => e.version), page.nextFromVersion];
      };
      expect(await versions('120', 3)).toEqual([['120', '121', '122'], '123']);
      // Exactly the last `limit` events: nothing follows, so next is 0.
      expect(await versions('241', 10)).toEqual([
        ['241', '242', '243', '244', '245', '246', '247', '248', '249', '250'],
        '0',
      ]);
      expect(await versions('250', 100)).toEqual([['250'], '0']);
      expect(await versions('251', 100)).toEqual([[], '0']);
      // 0 and 1 both mean "from the start"
      expect(await versions('0', 2)).toEqual(await versions('1', 2));
    });

    it('pages of 7 walk the whole history without gaps or repeats', async () => {
      const seen: string[] = [];
      let from = '1';
      for (let i = 0; i < 100 && from !== '0'; i++) {
        const page = await call('ListAccountEvents', { accountId: H, fromVersion: from, limit: 7 });
        seen.push(...page.events.map((e: Reply) => e.version));
        from = page.nextFromVersion;
      }
      expect(from).toBe('0');
      expect(seen).toEqual(Array.from({ length: HEAD }, (_, i) => String(i + 1)));
    });

    it('unknown account NOT_FOUND; limit 1001 and a bad account id INVALID_ARGUMENT', async () => {
      await expectRejected(
        call('ListAccountEvents', { accountId: uid('nobody'), fromVersion: '0', limit: 10 }),
        'ACCOUNT_NOT_FOUND',
      );
      await expectRejected(
        call('ListAccountEvents', { accountId: H, fromVersion: '0', limit: 1001 }),
        'INVALID_ARGUMENT',
      );
      await expectRejected(
        call('ListAccountEvents', { accountId: H, fromVersion: '0', limit: 4_294_967_295 }),
        'INVALID_ARGUMENT',
      );
      await expectRejected(
        call('ListAccountEvents', { accountId: 'bad id!', fromVersion: '0', limit: 10 }),
        'INVALID_ARGUMENT',
      );
    });
  });

  describe('GetBalanceAt', () => {
    const at = async (accountId: string, request: object): Promise<Reply> =>
      (await call('GetBalanceAt', { accountId, ...request })).account as Reply;

    it('at every hand-computed version (balance, held, available, status) and above the snapshots', async () => {
      const versions = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 99, 100, 101, 150, 199, 200, 201, 249, 250];
      const got = await mapLimit(versions, 8, async (v) => figuresOf(await at(H, { version: String(v) })));
      expect(got).toEqual(versions.map(handAt));
      const first = await at(H, { version: '1' });
      expect([first.currency, first.overdraftLimit, first.metadata, timestampMs(first.openedAt)]).toEqual([
        'USD',
        '0.00',
        { book: 'h' },
        openedAtMs,
      ]);
    });

    it('at times: each event time gives the last version at or before it; before the account NOT_FOUND; later the head', async () => {
      const times = events.map((e) => timestampMs(e.occurredAt));
      const lastAtOrBefore = (t: number): number => times.reduce((best, time, i) => (time <= t ? i + 1 : best), 0);
      const probes = [
        ...new Set([...times.slice(0, 12), times[99] as number, times[150] as number, times[HEAD - 1] as number]),
      ];
      const got = await mapLimit(probes, 8, async (t) =>
        figuresOf(await at(H, { time: { seconds: String(Math.floor(t / 1000)), nanos: (t % 1000) * 1_000_000 } })),
      );
      expect(got).toEqual(probes.map((t) => handAt(lastAtOrBefore(t))));
      const before = openedAtMs - 1;
      await expectRejected(
        call('GetBalanceAt', {
          accountId: H,
          time: { seconds: String(Math.floor(before / 1000)), nanos: (before % 1000) * 1_000_000 },
        }),
        'ACCOUNT_NOT_FOUND',
      );
      const later = await at(H, { time: { seconds: String(Math.floor(Date.now() / 1000) + 3600), nanos: 0 } });
      expect(figuresOf(later)).toEqual(handAt(HEAD));
    });

    it('a closed account at each of its versions', async () => {
      const got = await mapLimit([1, 2, 3, 4], 4, async (v) => figuresOf(await at(K, { version: String(v) })));
      expect(got).toEqual([
        { version: '1', balance: '0.00', held: '0.00', available: '0.00', status: 'ACCOUNT_STATUS_OPEN' },
        { version: '2', balance: '5.00', held: '0.00', available: '5.00', status: 'ACCOUNT_STATUS_OPEN' },
        { version: '3', balance: '0.00', held: '0.00', available: '0.00', status: 'ACCOUNT_STATUS_OPEN' },
        { version: '4', balance: '0.00', held: '0.00', available: '0.00', status: 'ACCOUNT_STATUS_CLOSED' },
      ]);
    });

    it('beyond the head INVALID_ARGUMENT; version 0 INVALID_ARGUMENT; unknown account NOT_FOUND', async () => {
      await expectRejected(call('GetBalanceAt', { accountId: H, version: String(HEAD + 1) }), 'INVALID_ARGUMENT');
      await expectRejected(call('GetBalanceAt', { accountId: K, version: '5' }), 'INVALID_ARGUMENT');
      await expectRejected(call('GetBalanceAt', { accountId: H, version: '0' }), 'INVALID_ARGUMENT');
      await expectRejected(call('GetBalanceAt', { accountId: H }), 'INVALID_ARGUMENT');
      await expectRejected(call('GetBalanceAt', { accountId: uid('nobody'), version: '1' }), 'ACCOUNT_NOT_FOUND');
      await expectRejected(
        call('GetBalanceAt', {
          accountId: uid('nobody'),
          time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 },
        }),
        'ACCOUNT_NOT_FOUND',
      );
    });
  });
});
