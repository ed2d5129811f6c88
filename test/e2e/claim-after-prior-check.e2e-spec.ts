import type Redis from 'ioredis';
import type { RedisLedgerStore } from '../../src/infrastructure/redis/redis-ledger-store';
import { type ScriptStore, startScriptStore } from '../support/script-store';

/**
 * The id claim (which account an id belongs to) is taken in the same command that reads it. A
 * call the id filter cannot rule out answers CHECK_PRIOR and must leave no claim behind: here the
 * filter is not ready (no ready marker: every id is "maybe seen"), the call is then rejected after
 * the event store check, and the id must still be free for another account.
 */
describe('id claims around the event store check (real Redis, the store without an event store)', () => {
  let redis: Redis;
  let store: RedisLedgerStore;
  let scriptStore: ScriptStore | undefined;
  const ctx = { traceparent: '' };

  beforeAll(async () => {
    scriptStore = await startScriptStore({ idFilterBits: 1024, idFilterHashes: 3 });
    ({ redis, store } = scriptStore);
    for (const accountId of ['poor', 'rich']) {
      await store.openAccount({ accountId, currency: 'USD', overdraftLimit: 0n, metadata: {} }, ctx);
    }
    await store.deposit(
      { transactionId: 'fund-rich', accountId: 'rich', currency: 'USD', amount: 500n, metadata: {} },
      ctx,
    );
  });

  afterAll(async () => {
    await scriptStore?.close();
  });

  it('a reject after CHECK_PRIOR frees the id; the same id then holds on another account', async () => {
    expect(await redis.keys('*idfilter:ready')).toEqual([]);
    const reserve = (accountId: string) =>
      store.reserve(
        { reservationId: 'r-1', accountId, currency: 'USD', amount: 100n, orderId: '', ttlSeconds: 0 },
        ctx,
      );
    await expect(reserve('poor')).rejects.toMatchObject({ reason: 'INSUFFICIENT_FUNDS' });
    expect(await redis.keys('*claim:res:*')).toEqual([]);
    const held = await reserve('rich');
    expect(held.account.held).toBe(100n);
    expect(held.replayed).toBe(false);
    // Bound to "rich" now: the same id on "poor" is a conflict, and a retry on "rich" a replay.
    await expect(reserve('poor')).rejects.toMatchObject({ reason: 'IDEMPOTENCY_CONFLICT' });
    await expect(reserve('rich')).resolves.toMatchObject({ replayed: true });
  });
});
