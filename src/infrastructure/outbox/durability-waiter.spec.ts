import { LedgerError } from '../../ledger/domain/errors';
import { DurabilityWaiter, type DurabilityWaiterOptions } from './durability-waiter';

const OPTIONS: DurabilityWaiterOptions = {
  timeoutMs: 1000,
  pollMs: 20,
  pollBatchMax: 3,
  waitersMax: 10,
  recentMax: 100,
};

/** A stand-in for Postgres: the ids it holds, and every query it was asked. */
function store(): {
  stored: Set<string>;
  queries: string[][];
  lookup: (ids: readonly string[]) => Promise<Set<string>>;
} {
  const stored = new Set<string>();
  const queries: string[][] = [];
  return {
    stored,
    queries,
    lookup: async (ids) => {
      queries.push([...ids]);
      return new Set(ids.filter((id) => stored.has(id)));
    },
  };
}

/**
 * Runs `start` with Date.now() frozen, so that calls it begins count as beginning to wait in the
 * same millisecond (the waiter orders and polls by the time each wait began: a clock tick between
 * two calls would otherwise decide which poll asks for which id).
 */
function atOneInstant<T>(start: () => T): T {
  const realNow = Date.now;
  const instant = realNow();
  Date.now = () => instant;
  try {
    return start();
  } finally {
    Date.now = realNow;
  }
}

describe('DurabilityWaiter', () => {
  it('knows how long the longest-waiting call has waited (0 when none waits)', async () => {
    const waiter = new DurabilityWaiter(OPTIONS, store().lookup);
    expect(waiter.oldestWaitMs()).toBe(0);
    const first = waiter.waitFor(['e1']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const second = waiter.waitFor(['e2']);
    const now = Date.now();
    expect(waiter.oldestWaitMs(now)).toBeGreaterThanOrEqual(25);
    waiter.onStored(['e1']);
    await first;
    // The first is done: the second is now the longest-waiting, and it only just began.
    expect(waiter.oldestWaitMs(now)).toBeLessThan(25);
    waiter.onStored(['e2']);
    await second;
    expect(waiter.oldestWaitMs()).toBe(0);
  });

  it('answers at once for events reported before the call waits, naming the batch that stored them', async () => {
    const pg = store();
    const waiter = new DurabilityWaiter(OPTIONS, pg.lookup);
    waiter.onStored(['e1', 'e2'], 'batch-a');
    await expect(waiter.waitFor(['e1', 'e2'])).resolves.toEqual({ batches: ['batch-a'], via: 'stored' });
    expect(pg.queries).toEqual([]);
  });

  it('wakes a call on the relay report of its events, with the batches that stored them', async () => {
    const waiter = new DurabilityWaiter(OPTIONS, store().lookup);
    const waiting = waiter.waitFor(['e1', 'e2']);
    waiter.onStored(['e1'], 'batch-a');
    waiter.onStored(['e2', 'other'], 'batch-b');
    await expect(waiting).resolves.toEqual({ batches: ['batch-a', 'batch-b'], via: 'notified' });
  });

  it('a lost report: finds the events in Postgres, in one query for every waiting call, the longest-waiting first', async () => {
    const pg = store();
    const waiter = new DurabilityWaiter(OPTIONS, pg.lookup);
    const calls = atOneInstant(() => ['a', 'b', 'c', 'd'].map((id) => waiter.waitFor([id])));
    for (const id of ['a', 'b', 'c', 'd']) pg.stored.add(id);
    await expect(Promise.all(calls)).resolves.toEqual(calls.map(() => ({ batches: [], via: 'polled' })));
    // Bounded by pollBatchMax: a, b, c in the first query, d in the next one.
    expect(pg.queries).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('keeps asking, in turn, for ids that are not stored yet', async () => {
    const pg = store();
    const waiter = new DurabilityWaiter(OPTIONS, pg.lookup);
    const calls = atOneInstant(() => ['a', 'b', 'c', 'd'].map((id) => waiter.waitFor([id])));
    await new Promise((resolve) => setTimeout(resolve, 70));
    pg.stored.add('d');
    pg.stored.add('a');
    for (const id of ['b', 'c']) waiter.onStored([id]);
    await Promise.all(calls);
    // d got its turn although a, b and c kept missing.
    expect(pg.queries[0]).toEqual(['a', 'b', 'c']);
    expect(pg.queries[1]?.[0]).toBe('d');
  });

  it('fails with DEPENDENCY_UNAVAILABLE past the timeout, and OVERLOADED past the bound on waiting calls', async () => {
    const waiter = new DurabilityWaiter({ ...OPTIONS, timeoutMs: 50, waitersMax: 1 }, store().lookup);
    const first = waiter.waitFor(['never']);
    await expect(waiter.waitFor(['other'])).rejects.toMatchObject({ reason: 'OVERLOADED' });
    await expect(first).rejects.toBeInstanceOf(LedgerError);
    await expect(first).rejects.toMatchObject({ reason: 'DEPENDENCY_UNAVAILABLE' });
    // The bound is free again.
    waiter.onStored(['later']);
    await expect(waiter.waitFor(['later'])).resolves.toMatchObject({ via: 'stored' });
  });

  it("stops waiting at the caller's deadline when it comes before the timeout, and frees its slot", async () => {
    const waiter = new DurabilityWaiter({ ...OPTIONS, timeoutMs: 60_000, waitersMax: 1 }, store().lookup);
    const started = Date.now();
    const error = await waiter.waitFor(['never'], Date.now() + 50).catch((e: unknown) => e);
    expect(error).toMatchObject({
      reason: 'DEPENDENCY_UNAVAILABLE',
      message: expect.stringMatching(/deadline passed/),
    });
    // Long before the 60 s timeout (a loose bound: the point is which of the two ended the wait).
    expect(Date.now() - started).toBeLessThan(30_000);
    waiter.onStored(['later']);
    await expect(waiter.waitFor(['later'])).resolves.toMatchObject({ via: 'stored' });
  });

  it('a deadline already passed still answers events already stored', async () => {
    const waiter = new DurabilityWaiter(OPTIONS, store().lookup);
    waiter.onStored(['e1'], 'batch-a');
    await expect(waiter.waitFor(['e1'], Date.now() - 1)).resolves.toEqual({ batches: ['batch-a'], via: 'stored' });
  });
});
