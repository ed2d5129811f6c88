import { BatchedLookup, type BatchedLookupLimits } from './batched-lookup';

/** A fetch whose queries the test answers by hand, recording the keys of each. */
function manualFetch(): {
  fetch: (keys: string[]) => Promise<Map<string, number>>;
  queries: string[][];
  answer(index: number, values: Record<string, number>): void;
  fail(index: number, error: Error): void;
} {
  const queries: string[][] = [];
  const settle: { resolve(v: Map<string, number>): void; reject(e: unknown): void }[] = [];
  return {
    queries,
    fetch: (keys) =>
      new Promise((resolve, reject) => {
        queries.push(keys);
        settle.push({ resolve, reject });
      }),
    answer: (index, values) => settle[index]!.resolve(new Map(Object.entries(values))),
    fail: (index, error) => settle[index]!.reject(error),
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const LIMITS: BatchedLookupLimits = { maxBatch: 3, maxInFlight: 1, maxPending: 5 };
const overloaded = (): Error => new Error('overloaded');

describe('BatchedLookup', () => {
  it('asks for the keys of one event-loop turn in one query, deduplicated', async () => {
    const db = manualFetch();
    const lookup = new BatchedLookup(db.fetch, LIMITS, overloaded);
    const answers = Promise.all([lookup.get('a'), lookup.get('b'), lookup.get('a')]);
    await turn();
    expect(db.queries).toEqual([['a', 'b']]);
    db.answer(0, { a: 1 });
    await expect(answers).resolves.toEqual([1, undefined, 1]);
    expect(lookup.size).toBe(0);
  });

  it('splits at maxBatch and holds the rest until a query is free (maxInFlight)', async () => {
    const db = manualFetch();
    const lookup = new BatchedLookup(db.fetch, LIMITS, overloaded);
    const answers = Promise.all(['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => lookup.get(k)));
    await turn();
    expect(db.queries).toEqual([['k1', 'k2', 'k3']]);
    db.answer(0, { k1: 1, k3: 3 });
    await turn();
    await turn();
    expect(db.queries).toEqual([
      ['k1', 'k2', 'k3'],
      ['k4', 'k5'],
    ]);
    db.answer(1, { k5: 5 });
    await expect(answers).resolves.toEqual([1, undefined, 3, undefined, 5]);
  });

  it('refuses a lookup past maxPending at once, and accepts again once answers came', async () => {
    const db = manualFetch();
    const lookup = new BatchedLookup(db.fetch, LIMITS, overloaded);
    const admitted = ['a', 'b', 'c', 'd', 'e'].map((k) => lookup.get(k));
    await expect(lookup.get('f')).rejects.toThrow('overloaded');
    expect(lookup.size).toBe(5);
    await turn();
    db.answer(0, {});
    await turn();
    await turn();
    db.answer(1, {});
    await Promise.all(admitted);
    expect(lookup.size).toBe(0);
    const again = lookup.get('f');
    await turn();
    db.answer(2, { f: 6 });
    await expect(again).resolves.toBe(6);
  });

  it('fails every lookup of a failed query, and the next batch still runs', async () => {
    const db = manualFetch();
    const lookup = new BatchedLookup(db.fetch, LIMITS, overloaded);
    const first = Promise.allSettled([lookup.get('a'), lookup.get('b')]);
    await turn();
    db.fail(0, new Error('connection lost'));
    const results = await first;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(lookup.size).toBe(0);
    const next = lookup.get('a');
    await turn();
    db.answer(1, { a: 1 });
    await expect(next).resolves.toBe(1);
  });
});
