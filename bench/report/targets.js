// Issue 8's targets, each met or missed, from the runs of one bench run (bench/report/summarize.js).
const BAR_MS = 10;

// A rate "holds" when every call succeeded at (nearly) the asked rate with p99 under the bar.
const clean = (run) => run && run.failed === 0 && run.achieved_rate >= 0.95 * run.rate;
const holds = (run) => clean(run) && run.latency_ms.p99 <= BAR_MS;

function referenceRate(rates) {
  if (!rates.length) return null;
  return [...rates].sort((a, b) => Math.abs(a - 1000) - Math.abs(b - 1000) || a - b)[0];
}

function highestHolding(runs) {
  const ok = runs.filter(holds).map((r) => r.rate);
  return ok.length ? Math.max(...ok) : 0;
}

function ratioTarget(id, text, a, b, limit, pick, unit, absent) {
  if (!b) return { id, text, limit, met: null, detail: 'the baseline was not measured' };
  if (!a) return { id, text, limit, ...absent };
  const value = pick(a) / pick(b);
  const digits = unit === 'ms' ? 2 : 0;
  let detail = `${pick(a).toFixed(digits)} / ${pick(b).toFixed(digits)} ${unit}`;
  // A ratio holds only between two clean runs: a ledger that did not serve the rate misses it; a
  // baseline that did not (the machine was too busy) leaves nothing to compare with.
  let met = value <= limit;
  if (!clean(a)) [met, detail] = [false, `${detail}; the ledger's run had failed calls or fell short of the rate`];
  else if (!clean(b))
    [met, detail] = [null, `${detail}; the baseline's run had failed calls or fell short of the rate`];
  return { id, text, value, limit, met, detail };
}

/** open: {system: [run by rate]}, mixed: the mixed run or undefined */
function targets(open, mixed) {
  const rates = [...new Set(Object.values(open).flatMap((runs) => runs.map((r) => r.rate)))];
  const ref = referenceRate(rates);
  const at = (system) => (open[system] || []).find((r) => r.rate === ref);
  const [durable, fast, baseline] = ['durable', 'fast', 'baseline'].map(at);
  const p99 = (r) => r.latency_ms.p99;
  // A system that ran at lower rates but not at the reference one was saturated below it (run.sh
  // stops raising its rate): that misses the target; one that did not run is not measured.
  const absent = (system) => {
    const below = (open[system] || []).filter((r) => r.rate < ref);
    return below.length
      ? { met: false, detail: `saturated at ${Math.max(...below.map((r) => r.rate))}/s, not run at ${ref}/s` }
      : { met: null, detail: 'not measured' };
  };
  const bar = (id, text, run) =>
    run
      ? {
          id,
          text,
          value: run.latency_ms.p99,
          limit: BAR_MS,
          met: holds(run),
          detail:
            `p99.9 ${run.latency_ms.p999.toFixed(1)} ms, max ${run.latency_ms.max.toFixed(1)} ms, ` +
            `${run.achieved_rate.toFixed(0)}/s achieved, ${run.failed} failed`,
        }
      : { id, text, limit: BAR_MS, ...absent('durable') };
  const list = [
    bar('seed-bar', `durable Reserve at ${ref}/s: p99 < ${BAR_MS} ms`, durable),
    bar('mixed-bar', `durable mixed flow at ${mixed ? mixed.rate : ref}/s: p99 < ${BAR_MS} ms`, mixed),
    ratioTarget(
      'cpu',
      `total CPU per Reserve at ${ref}/s, durable / baseline`,
      durable,
      baseline,
      1.5,
      (r) => r.cpu_total_us_per_call,
      'µs',
      absent('durable'),
    ),
    ratioTarget(
      'durable-p99',
      `durable p99 at ${ref}/s / baseline p99`,
      durable,
      baseline,
      2,
      p99,
      'ms',
      absent('durable'),
    ),
    ratioTarget('fast-p99', `fast p99 at ${ref}/s / baseline p99`, fast, baseline, 1.5, p99, 'ms', absent('fast')),
  ];
  if (open.durable && open.baseline) {
    const ours = highestHolding(open.durable);
    const theirs = highestHolding(open.baseline);
    const top = Math.max(...rates);
    const value = theirs ? ours / theirs : null;
    list.push({
      id: 'capacity',
      text: `highest rate with p99 <= ${BAR_MS} ms, durable / baseline (goal 0.7)`,
      value,
      limit: 0.5,
      atLeast: true,
      met: value === null ? null : value >= 0.5,
      detail: theirs
        ? `${ours}/s vs ${theirs}/s${theirs === top ? ` (the baseline held the highest rate tried: its own limit is higher, the true ratio lower)` : ''}`
        : `no rate held by the baseline either (durable: ${ours}/s): no ratio`,
    });
  } else list.push({ id: 'capacity', text: 'highest rate with p99 <= 10 ms', met: null, detail: 'not measured' });
  return { reference_rate: ref, list };
}

module.exports = { targets, holds, clean };
