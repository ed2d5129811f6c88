import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics';

/** The same observations through prom-client and through the fast metrics print the same text. */
describe('FastHistogram / FastCounter', () => {
  const buckets = [0.0001, 0.001, 0.01, 0.5, 1, 5];
  const values = [0, 0.0001, 0.00011, 0.001, 0.004, 0.01, 0.2, 0.5, 0.7, 1, 4.9, 5, 7, 100, 1e-9];

  it('a labelled histogram', async () => {
    const a = new Registry();
    const b = new Registry();
    const reference = new Histogram({
      name: 'x_seconds',
      help: 'h "q" \\ x',
      labelNames: ['m', 'k'],
      buckets,
      registers: [a],
    });
    const fast = new FastHistogram({
      name: 'x_seconds',
      help: 'h "q" \\ x',
      labelNames: ['m', 'k'],
      buckets,
      registers: [b],
    });
    for (const [i, v] of values.entries()) {
      const labels = i % 3 === 0 ? ['Reserve', 'validate'] : ['Deposit', 'parse-money'];
      reference.labels(...labels).observe(v);
      fast.labels(...labels).observe(v);
    }
    expect(await b.metrics()).toBe(await a.metrics());
    const expected = await reference.get();
    expected.values = expected.values.map(({ labels, value, metricName }) => ({ labels, value, metricName }) as never);
    expect(await fast.get()).toEqual(expected);
    expect(b.getSingleMetric('x_seconds')).toBe(fast);
  });

  it('a histogram without labels shows zeros before any observation, and after a reset', async () => {
    const a = new Registry();
    const b = new Registry();
    const reference = new Histogram({ name: 'y', help: 'y', buckets, registers: [a] });
    const fast = new FastHistogram({ name: 'y', help: 'y', buckets, registers: [b] });
    expect(await b.metrics()).toBe(await a.metrics());
    reference.observe(0.3);
    fast.observe(0.3);
    expect(await b.metrics()).toBe(await a.metrics());
    reference.reset();
    fast.reset();
    reference.observe(2);
    fast.observe(2);
    expect(await b.metrics()).toBe(await a.metrics());
  });

  it('counters, labelled and not', async () => {
    const a = new Registry();
    const b = new Registry();
    const r1 = new Counter({ name: 'c_total', help: 'c', labelNames: ['code'], registers: [a] });
    const f1 = new FastCounter({ name: 'c_total', help: 'c', labelNames: ['code'], registers: [b] });
    const r2 = new Counter({ name: 'd_total', help: 'd', registers: [a] });
    const f2 = new FastCounter({ name: 'd_total', help: 'd', registers: [b] });
    expect(await b.metrics()).toBe(await a.metrics());
    for (const code of ['OK', 'OK', 'INTERNAL', 'OK']) {
      r1.labels(code).inc();
      f1.labels(code).inc();
    }
    r1.labels('OK').inc(0);
    f1.labels('NOT_FOUND').inc(0);
    r1.labels('NOT_FOUND').inc(0);
    r2.inc(2.5);
    f2.inc(2.5);
    expect(await b.metrics()).toBe(await a.metrics());
    expect(() => f1.labels('OK').inc(-1)).toThrow();
    expect(() => f1.labels('OK', 'extra')).toThrow(/label values/);
    expect(() => new FastHistogram({ name: 'z', help: 'z', buckets }).observe(NaN)).toThrow(TypeError);
  });
});
