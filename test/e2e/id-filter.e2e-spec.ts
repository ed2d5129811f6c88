import { idFilterBits, idFilterSlot } from '../../src/infrastructure/redis/id-filter';
import { RedisKeys } from '../../src/infrastructure/redis/redis-keys';
import { type IsolatedLedger, pollUntil, startIsolatedLedger } from '../support/isolated-ledger';
import { uid } from '../support/ledger-app';
import type { Reply } from '../support/ledger-client';
import { LedgerDriver, expectRejected, figures, money } from '../support/ledger-expect';

/**
 * The id filter (lua/lib/idempotent.lua, IdFilterRebuild): a new id costs no event store lookup;
 * an id the filter cannot rule out (seen before, a false positive, or the filter not rebuilt
 * after Redis lost it) costs one lookup and is then answered exactly as before: a replay from the
 * event store if it was stored, applied once if it was not. Lookups are counted by
 * ledger_id_filter_store_lookups_total, read from the service's /metrics.
 */
describe('id filter: new ids skip the event store; anything it cannot rule out is looked up', () => {
  const FILTER = { idFilterBits: 8_388_608, idFilterHashes: 7 };
  let iso: IsolatedLedger;
  let l: LedgerDriver;
  let keys: RedisKeys;

  beforeAll(async () => {
    iso = await startIsolatedLedger();
    l = new LedgerDriver(iso.ledger.client);
    keys = new RedisKeys(iso.buckets);
    await filtersReady();
  }, 120_000);
  afterAll(async () => {
    await iso?.close();
  });

  const readyKeys = (): string[] => Array.from({ length: iso.buckets }, (_, b) => keys.idFilterReadyOfBucket(b));
  const filtersReady = (): Promise<true> =>
    pollUntil('every bucket id filter ready', async () =>
      (await iso.direct.exists(...readyKeys())) === iso.buckets ? true : undefined,
    );

  /** ledger_id_filter_store_lookups_total summed over scripts. */
  async function lookups(): Promise<number> {
    const text = await (await fetch(`${iso.ledger.httpUrl}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('ledger_id_filter_store_lookups_total{')) sum += Number(line.split(' ').pop());
    }
    return sum;
  }

  /** Waits until the event store holds the idempotency record of `key`. */
  const stored = (key: string): Promise<true> =>
    pollUntil(`${key} in ledger_idempotency`, async () => {
      const { rows } = await iso.db.pool.query('SELECT 1 FROM ledger_idempotency WHERE idempotency_key = $1', [key]);
      return rows.length > 0 ? true : undefined;
    });

  /** Forgets a transaction id in Redis as the retention would: its replay record and its claim. */
  async function expireInRedis(accountId: string, transactionId: string): Promise<void> {
    await iso.direct.del(keys.idempotency(accountId, 'tx', transactionId), keys.claim('tx', transactionId));
  }

  const deposit = (transactionId: string, accountId: string, amount: string): Promise<Reply> =>
    l.call('Deposit', { transactionId, accountId, amount: money(amount) });

  it('new ids (deposits, reserves, commits) make no event store lookup once the filters are ready', async () => {
    const accountId = await l.funded('100.00');
    const before = await lookups();
    for (let i = 0; i < 10; i++) {
      await deposit(uid('dep'), accountId, '1.00');
      const reservationId = uid('res');
      await l.reserve(accountId, '2.00', { reservationId });
      await l.call('CommitReservation', { reservationId, commitId: uid('fill'), amount: money('1.00') });
    }
    expect(await lookups()).toBe(before);
    expect(figures(await l.account(accountId))).toMatchObject({ balance: '100.00', held: '10.00' });
  }, 60_000);

  it('a replay whose Redis record expired is answered from the event store: replayed, applied once, one lookup', async () => {
    const accountId = await l.funded('');
    const transactionId = uid('dep');
    const first = await deposit(transactionId, accountId, '25.00');
    await stored(`tx:${transactionId}`);
    await expireInRedis(accountId, transactionId);
    const before = await lookups();
    const again = await deposit(transactionId, accountId, '25.00');
    expect(again.replayed).toBe(true);
    expect(figures(again['account'] as Reply)).toEqual(figures(first['account'] as Reply));
    expect(await lookups()).toBe(before + 1);
    expect(figures(await l.account(accountId))).toMatchObject({ balance: '25.00', version: '2' });
    // Other parameters under the expired id are still a conflict, and change nothing.
    await expectRejected(deposit(transactionId, accountId, '26.00'), 'IDEMPOTENCY_CONFLICT');
    expect(figures(await l.account(accountId))).toMatchObject({ balance: '25.00', version: '2' });
  }, 60_000);

  it('an expired reserve id is answered from the event store, not held twice', async () => {
    const accountId = await l.funded('100.00');
    const reservationId = uid('res');
    const first = await l.reserve(accountId, '40.00', { reservationId });
    await stored(`res:${reservationId}`);
    await iso.direct.del(keys.idempotency(accountId, 'res', reservationId));
    const again = await l.reserve(accountId, '40.00', { reservationId });
    expect(again.replayed).toBe(true);
    expect((again['reservation'] as Reply)['accountVersion']).toBe((first['reservation'] as Reply)['accountVersion']);
    expect(figures(await l.account(accountId))).toMatchObject({ held: '40.00', version: '3' });
  }, 60_000);

  it('a false positive (every bit of a new id already set) costs one lookup and is applied once', async () => {
    const accountId = await l.funded('');
    const transactionId = uid('dep');
    const slot = idFilterSlot(keys, `tx:${transactionId}`, accountId);
    for (const bit of idFilterBits(`tx:${transactionId}`, FILTER))
      await iso.direct.setbit(slot.filterKey, Number(bit), 1);
    const before = await lookups();
    const reply = await deposit(transactionId, accountId, '5.00');
    expect(reply.replayed).toBe(false);
    expect(await lookups()).toBe(before + 1);
    expect(figures(await l.account(accountId))).toMatchObject({ balance: '5.00', version: '2' });
    // Within the retention the replay comes from Redis, with no lookup.
    expect((await deposit(transactionId, accountId, '5.00')).replayed).toBe(true);
    expect(await lookups()).toBe(before + 1);
  }, 60_000);

  it('a rejected call sets no bits: the id stays new', async () => {
    const accountId = await l.funded('1.00');
    const transactionId = uid('wd');
    await expectRejected(l.call('Withdraw', { transactionId, accountId, amount: money('2.00') }), 'INSUFFICIENT_FUNDS');
    const slot = idFilterSlot(keys, `tx:${transactionId}`, accountId);
    const bits = await Promise.all(
      idFilterBits(`tx:${transactionId}`, FILTER).map((bit) => iso.direct.getbit(slot.filterKey, Number(bit))),
    );
    expect(bits.includes(0)).toBe(true);
  }, 60_000);

  it('after Redis lost the filters every id is looked up until the rebuild, which restores stored ids', async () => {
    const accountId = await l.funded('');
    const oldId = uid('dep');
    await deposit(oldId, accountId, '10.00');
    await stored(`tx:${oldId}`);
    const filters = Array.from({ length: iso.buckets }, (_, b) => keys.idFilterOfBucket(b));
    await iso.direct.del(...filters, ...readyKeys());
    await expireInRedis(accountId, oldId);
    // Not ready: a replay of the old id is still answered from the store, not applied again...
    expect((await deposit(oldId, accountId, '10.00')).replayed).toBe(true);
    // ...and a new id is applied (after its lookup).
    expect((await deposit(uid('dep'), accountId, '1.00')).replayed).toBe(false);
    await filtersReady();
    const slot = idFilterSlot(keys, `tx:${oldId}`, accountId);
    const bits = await Promise.all(
      idFilterBits(`tx:${oldId}`, FILTER).map((bit) => iso.direct.getbit(slot.filterKey, Number(bit))),
    );
    expect(bits).toEqual(bits.map(() => 1));
    await expireInRedis(accountId, oldId);
    expect((await deposit(oldId, accountId, '10.00')).replayed).toBe(true);
    expect(figures(await l.account(accountId))).toMatchObject({ balance: '11.00', version: '3' });
  }, 60_000);
});
