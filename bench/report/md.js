// Markdown pieces of a run's summary (summary.json), shared by markdown.js (the full summary) and
// readme.js (the README's excerpt).
const { holds } = require('./targets');

const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(d));
const ms = (x) => f(x, x !== null && x !== undefined && x < 10 ? 2 : 1);
const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');

const systems = (s) => ['baseline', 'durable', 'fast'].filter((x) => s.open[x] || s.ceiling[x]);
const rates = (s) => [...new Set(Object.values(s.open).flatMap((r) => r.map((x) => x.rate)))].sort((a, b) => a - b);
const at = (s, system, rate) => (s.open[system] || []).find((r) => r.rate === rate);
const openRuns = (s) =>
  rates(s).flatMap((rate) =>
    systems(s)
      .map((x) => at(s, x, rate))
      .filter(Boolean),
  );
const ceilingRuns = (s) =>
  systems(s)
    .map((x) => s.ceiling[x])
    .filter(Boolean);
const label = (r) => (r.kind === 'open' ? r.rate : r.kind === 'mixed' ? `mixed ${r.rate}` : r.kind);

function machineLine(s) {
  const c = s.context;
  const m = c.machine || {};
  const all = [...openRuns(s), ...ceilingRuns(s), ...(s.mixed ? [s.mixed] : [])];
  const others = all.length ? all.reduce((n, r) => n + r.machine.others_cores, 0) / all.length : 0;
  return (
    `\`npm run bench${c.options ? ` -- ${c.options}` : ''}\` at commit ${c.commit}${c.dirty ? ' (with uncommitted changes)' : ''}, ` +
    `${c.started} to ${s.finished.slice(0, 19)}Z, on ${m.nproc} x ${m.model}, ${m.memory_gb} GB, Linux ${m.kernel}. ` +
    `The machine was shared: load average ${m.load_at_start} at the start, ${s.load_at_end} at the end, and ` +
    `processes outside the bench used ${f(others, 2)} of its ${m.nproc} cores on average during the measured runs.` +
    (c.env && c.env.length ? ` Extra service settings: \`${c.env.join(' ')}\`.` : '')
  );
}

function targetsTable(s) {
  const bar = (t) => t.id.endsWith('bar');
  const verdict = (t) => (t.met === null ? 'n/a' : t.met ? '**met**' : '**missed**');
  const limit = (t) =>
    t.limit === undefined ? '' : `${t.atLeast ? '>=' : bar(t) ? '<' : '<='} ${t.limit}${bar(t) ? ' ms' : 'x'}`;
  const value = (t) =>
    t.value === undefined || t.value === null ? '-' : bar(t) ? `${ms(t.value)} ms` : `${f(t.value, 2)}x`;
  return table(
    ['target', 'measured', 'limit', 'result', 'detail'],
    s.targets.list.map((t) => [t.text, value(t), limit(t), verdict(t), t.detail]),
  );
}

function latencyTable(s) {
  const cell = (x, rate) => {
    const r = at(s, x, rate);
    if (r) return `${ms(r.latency_ms.p50)} / ${ms(r.latency_ms.p99)}${holds(r) ? '' : ' ✗'}`;
    return (s.open[x] || []).some((o) => o.rate < rate) ? 'skipped (saturated below)' : '';
  };
  return [
    table(
      ['rate/s', ...systems(s).map((x) => `${x} p50 / p99 ms`)],
      rates(s).map((rate) => [rate, ...systems(s).map((x) => cell(x, rate))]),
    ),
    '✗: the rate does not hold (p99 >= 10 ms, failed calls, or under 95% of the rate reached).',
  ].join('\n\n');
}

// Statuses of the failed calls; calls cut at the end of a closed-loop run are counted apart.
function statusText(r) {
  const cut = r.jobs.reduce((n, j) => n + j.cut_at_end, 0);
  const failed = r.failed
    ? Object.entries(r.jobs.reduce((o, j) => ({ ...o, ...j.status }), {}))
        .filter(([k]) => k !== 'OK')
        .map(([k, v]) => `${k} ${v}`)
    : [];
  return [...failed, ...(cut ? [`${cut} cut at the end`] : [])].join(', ');
}

function runsTable(s) {
  return table(
    ['rate/s', 'system', 'achieved/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'failed', 'statuses'],
    [...openRuns(s), ...ceilingRuns(s)].map((r) => {
      const l = r.latency_ms;
      return [
        label(r),
        r.system,
        f(r.achieved_rate, 0),
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p999),
        ms(l.max),
        r.failed,
        statusText(r),
      ];
    }),
  );
}

function cpuTable(runs) {
  return table(
    ['rate/s', 'system', 'own', 'Redis', 'Postgres', 'Kafka', 'total', 'Jaeger', 'ghz', 'machine busy'],
    runs.map((r) => {
      const u = r.cpu_us_per_call;
      const ledger = r.system !== 'baseline';
      return [
        label(r),
        r.system,
        f(u[r.system], 0),
        f(u.redis, 0),
        ledger ? f(u.postgres, 0) : '',
        ledger ? f(u.kafka, 0) : '',
        `**${f(r.cpu_total_us_per_call, 0)}**`,
        f(u.jaeger, 0),
        f(u.ghz, 0),
        `${f(r.machine.busy_share * 100, 0)}%`,
      ];
    }),
  );
}

function ceilingTable(s) {
  return table(
    ['system', 'achieved/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'failed', 'CPU µs/call'],
    ceilingRuns(s).map((r) => {
      const l = r.latency_ms;
      return [
        r.system,
        f(r.achieved_rate, 0),
        ms(l.p50),
        ms(l.p99),
        ms(l.p999),
        ms(l.max),
        r.failed,
        f(r.cpu_total_us_per_call, 0),
      ];
    }),
  );
}

function mixedTable(x) {
  const line = (name, rate, r) => {
    const l = r.latency_ms;
    return [name, rate, f(r.achieved_rate, 0), ms(l.p50), ms(l.p99), ms(l.p999), ms(l.max), r.failed];
  };
  return table(
    ['call', 'rate/s', 'achieved/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'failed'],
    [...x.jobs.map((j) => line(j.method, f(j.target_rate, 0), j)), line('**all**', x.rate, x)],
  );
}

module.exports = {
  f,
  ms,
  table,
  systems,
  rates,
  at,
  openRuns,
  ceilingRuns,
  machineLine,
  targetsTable,
  latencyTable,
  runsTable,
  cpuTable,
  ceilingTable,
  mixedTable,
};
