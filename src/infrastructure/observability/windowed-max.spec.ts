import { WindowedMax } from './windowed-max';

describe('WindowedMax', () => {
  it('keeps the largest value of the window and lets it age out', () => {
    let now = 1_000_000;
    const max = new WindowedMax(60_000, 6, () => now);
    expect(max.max()).toBe(0);
    max.record(0.002);
    max.record(0.009);
    max.record(0.001);
    expect(max.max()).toBe(0.009);
    now += 30_000;
    max.record(0.004);
    expect(max.max()).toBe(0.009);
    now += 31_000; // the 0.009 sub-window is now older than 60 s
    expect(max.max()).toBe(0.004);
    now += 60_000;
    expect(max.max()).toBe(0);
  });

  it('reuses a ring slot for a new sub-window instead of keeping its old maximum', () => {
    let now = 0;
    const max = new WindowedMax(600, 6, () => now);
    max.record(5);
    now = 600; // same slot index, one full window later
    max.record(1);
    expect(max.max()).toBe(1);
  });
});
