import type Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExpirySweeper } from './expiry-sweeper';
import type { LuaScripts } from './lua-scripts';

/** A Redis whose pipeline fails while `down` is set, and finds nothing due otherwise. */
function fakeRedis(state: { down: boolean; sweeps: number }): Redis {
  return {
    pipeline: () => ({
      zrangebyscore: () => undefined,
      exec: async () => {
        state.sweeps++;
        if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        return [[null, []]];
      },
    }),
  } as unknown as Redis;
}

describe('ExpirySweeper', () => {
  it('reports an outage when it begins and when it ends, not on every failed tick', async () => {
    const state = { down: true, sweeps: 0 };
    const failures: number[] = [];
    const recoveries: number[] = [];
    const sweeper = new ExpirySweeper(
      fakeRedis(state),
      {} as LuaScripts,
      { buckets: 1, intervalMs: 10, batchMax: 10 },
      () => undefined,
      (_error, consecutive) => failures.push(consecutive),
      (failed) => recoveries.push(failed),
    );
    sweeper.start();
    try {
      while (state.sweeps < 5) await sleep(10);
      state.down = false;
      const failed = failures.length;
      while (state.sweeps < failed + 3) await sleep(10);
    } finally {
      await sweeper.stop();
    }
    // Every failed sweep is seen (metrics count them), numbered in a row; one recovery follows.
    expect(failures).toEqual(Array.from({ length: failures.length }, (_, i) => i + 1));
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(recoveries).toEqual([failures.length]);
  });
});
