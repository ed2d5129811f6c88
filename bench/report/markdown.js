// The Markdown summary of one run: node bench/report/markdown.js <summary.json> <plot file name>
// With --targets instead of a plot name: only the targets table (the end of the progress output).
const fs = require('fs');
const { holds } = require('./targets');

const [file, plot] = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(file, 'utf8'));
const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(d));
const ms = (x) => f(x, x !== null && x !== undefined && x < 10 ? 2 : 1);
const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
const SYSTEMS = ['baseline', 'durable', 'fast'].filter((x) => s.open[x] || s.ceiling[x]);
const statusText = (r) =>
  r.failed
    ? Object.entries(r.jobs.reduce((o, j) => ({ ...o, ...j.status }), {}))
        .filter(([k]) => k !== 'OK')
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : '';

function targetsTable() {
  const verdict = (t) => (t.met === null ? 'n/a' : t.met ? '**met**' : '**missed**');
  const limit = (t) =>
    t.limit === undefined
      ? ''
      : `${t.atLeast ? '>=' : t.id.endsWith('bar') ? '<' : '<='} ${t.limit}${t.id.endsWith('bar') ? ' ms' : 'x'}`;
  const value = (t) =>
    t.value === undefined || t.value === null ? '-' : t.id.endsWith('bar') ? `${ms(t.value)} ms` : `${f(t.value, 2)}x`;
  return table(
    ['target', 'measured', 'limit', 'result', 'detail'],
    s.targets.list.map((t) => [t.text, value(t), limit(t), verdict(t), t.detail]),
  );
}

if (plot === '--targets') {
  process.stdout.write(`\nTargets (reference rate ${s.targets.reference_rate}/s):\n${targetsTable()}\n`);
  process.exit(0);
}

const c = s.context;
const m = c.machine || {};
const all = [...Object.values(s.open).flat(), ...Object.values(s.ceiling), ...(s.mixed ? [s.mixed] : [])];
const others = all.length ? all.reduce((n, r) => n + r.machine.others_cores, 0) / all.length : 0;
const rates = [...new Set(Object.values(s.open).flatMap((r) => r.map((x) => x.rate)))].sort((a, b) => a - b);
const at = (system, rate) => (s.open[system] || []).find((r) => r.rate === rate);
const out = [];
const say = (...blocks) => out.push(...blocks.filter((b) => b !== '')); // joined by blank lines

say(
  `# Reserve benchmark, ${c.started} (commit ${c.commit}${c.dirty ? ', with uncommitted changes' : ''})`,
  `\`npm run bench${c.options ? ` -- ${c.options}` : ''}\` on ${m.nproc} x ${m.model}, ${m.memory_gb} GB, Linux ${m.kernel}. ` +
    `Load average ${m.load_at_start} at the start, ${s.load_at_end} at the end; processes outside the bench used ` +
    `${f(others, 2)} cores on average during the measured runs (the machine is shared).` +
    (c.env && c.env.length ? ` Extra service settings: \`${c.env.join(' ')}\`.` : ''),
);
say(
  '## Targets',
  `Reference rate ${s.targets.reference_rate}/s (open loop). A rate holds when p99 < 10 ms, no call failed and at least 95% of the rate was reached.`,
  targetsTable(),
);

say('## Latency against rate (open loop, Reserve)', plot ? `![p50 and p99 against the offered rate](${plot})` : '');
say(
  table(
    ['rate/s', ...SYSTEMS.map((x) => `${x} p50 / p99 ms`)],
    rates.map((rate) => [
      rate,
      ...SYSTEMS.map((x) => {
        const r = at(x, rate);
        if (r) return `${ms(r.latency_ms.p50)} / ${ms(r.latency_ms.p99)}${holds(r) ? '' : ' ✗'}`;
        return (s.open[x] || []).some((o) => o.rate < rate) ? 'skipped (saturated below)' : '';
      }),
    ]),
  ),
  '✗: the rate does not hold (p99 >= 10 ms, failures, or under 95% of the rate reached).',
);
const runRows = (list) =>
  list.map((r) => {
    const l = r.latency_ms;
    return [
      r.kind === 'open' ? r.rate : r.kind,
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
  });
say(
  '### Every run',
  table(
    ['rate/s', 'system', 'achieved/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'failed', 'statuses'],
    runRows(
      rates
        .flatMap((rate) => SYSTEMS.map((x) => at(x, rate)).filter(Boolean))
        .concat(SYSTEMS.map((x) => s.ceiling[x]).filter(Boolean)),
    ),
  ),
);

const cpuRow = (r) => {
  const u = r.cpu_us_per_call;
  return [
    r.kind === 'open' ? r.rate : r.kind,
    r.system,
    f(u[r.system], 0),
    f(u.redis, 0),
    r.system === 'baseline' ? '' : f(u.postgres, 0),
    r.system === 'baseline' ? '' : f(u.kafka, 0),
    `**${f(r.cpu_total_us_per_call, 0)}**`,
    f(u.jaeger, 0),
    f(u.ghz, 0),
    `${f(r.machine.busy_share * 100, 0)}%`,
  ];
};
say(
  '## CPU per call (µs, from /proc)',
  'Own process as measured; Redis, Postgres (all its backends and background processes), Kafka and Jaeger less their idle use (measured before the runs, ticks/s: ' +
    Object.entries(s.idle_ticks_per_s)
      .filter(([k]) => !k.startsWith('machine'))
      .map(([k, v]) => `${k} ${f(v, 1)}`)
      .join(', ') +
    '). Total = own + Redis (+ Postgres + Kafka for the ledger); Jaeger and ghz are shown, not counted.',
  table(
    ['rate/s', 'system', 'own', 'Redis', 'Postgres', 'Kafka', 'total', 'Jaeger', 'ghz', 'machine busy'],
    rates
      .flatMap((rate) => SYSTEMS.map((x) => at(x, rate)).filter(Boolean))
      .concat(SYSTEMS.map((x) => s.ceiling[x]).filter(Boolean), s.mixed ? [s.mixed] : [])
      .map(cpuRow),
  ),
);

if (Object.keys(s.ceiling).length) {
  say(
    '## Closed-loop ceiling',
    `Each system as fast as ${all[0] ? 'the' : ''} callers go (no arrival rate; calls cut when the time is up are not counted).`,
    table(
      ['system', 'achieved/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'failed', 'CPU µs/call'],
      SYSTEMS.map((x) => s.ceiling[x])
        .filter(Boolean)
        .map((r) => [
          r.system,
          f(r.achieved_rate, 0),
          ms(r.latency_ms.p50),
          ms(r.latency_ms.p99),
          ms(r.latency_ms.p999),
          ms(r.latency_ms.max),
          r.failed,
          f(r.cpu_total_us_per_call, 0),
        ]),
    ),
  );
}

if (s.mixed) {
  const x = s.mixed;
  say(
    `## Mixed flow at ${x.rate}/s (durable)`,
    'Four ghz processes at once, each open loop at its share: Reserve (fresh ids), partial CommitReservation (0.01 of pre-made 1.00 holds, about 20 fills each), ReleaseReservation (pre-made holds, each once), GetAccount.',
    table(
      ['call', 'rate/s', 'achieved/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'failed'],
      x.jobs
        .map((j) => [
          j.method,
          f(j.target_rate, 0),
          f(j.achieved_rate, 0),
          ms(j.latency_ms.p50),
          ms(j.latency_ms.p99),
          ms(j.latency_ms.p999),
          ms(j.latency_ms.max),
          j.failed,
        ])
        .concat([
          [
            '**all**',
            x.rate,
            f(x.achieved_rate, 0),
            ms(x.latency_ms.p50),
            ms(x.latency_ms.p99),
            ms(x.latency_ms.p999),
            ms(x.latency_ms.max),
            x.failed,
          ],
        ]),
    ),
  );
}

say(require('./markdown-metrics')(s, rates, ms, f, table));
const logs = Object.entries(s.service_logs || {});
if (logs.length) {
  say(
    "## Warnings and errors in the services' logs (whole run, numbers masked)",
    table(
      ['system', 'lines', 'message'],
      logs.flatMap(([system, list]) => list.map((x) => [system, x.count, `\`${x.message.replace(/\|/g, '\\|')}\``])),
    ),
  );
}
if (s.profile && s.profile.top) say(require('./markdown-profile')(s.profile, f, table));
process.stdout.write(`${out.join('\n\n')}\n`);
