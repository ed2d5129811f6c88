// One run's numbers: node bench/report/run-stats.js <run dir> <clock ticks per s> [idle.json]
// Reads what bench/lib/load.sh recorded, writes <run dir>/stats.json, drops the per-call details
// from the ghz reports (they are large) and prints the run's progress line.
const fs = require('fs');
const path = require('path');
const { metricsView } = require('./metrics-view');

const [dir, clkTck, idleFile] = process.argv.slice(2);
const hz = Number(clkTck);
const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
const readTicks = (f) =>
  Object.fromEntries(
    fs
      .readFileSync(path.join(dir, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([k, v]) => [k, Number(v)]),
  );
const idle = idleFile && fs.existsSync(idleFile) ? JSON.parse(fs.readFileSync(idleFile, 'utf8')) : {};
const wallS = Number(fs.readFileSync(path.join(dir, 'wall.txt'), 'utf8')) / 1000;

// Ends of a -z (duration) run cut the calls in flight; they are no failures of the server.
const CUT = /closed network connection|transport is closing|context canceled|code = Canceled/i;

function percentile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1e6;
}

function latency(values) {
  const sorted = Float64Array.from(values).sort();
  const sum = values.reduce((n, v) => n + v, 0);
  return {
    mean: values.length ? sum / values.length / 1e6 : null,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.length ? sorted[sorted.length - 1] / 1e6 : null,
  };
}

// Every call's latency (ns) but the cut ones. ghz's per-call details are large: the first pass
// keeps only the latencies, one per line in <report>.latencies, so the report can be redone.
function latencies(file, r) {
  const kept = file.replace(/\.json$/, '.latencies');
  if (!r.details)
    return fs.existsSync(kept) ? fs.readFileSync(kept, 'utf8').split('\n').filter(Boolean).map(Number) : [];
  const values = r.details.filter((d) => !CUT.test(d.error || '')).map((d) => d.latency);
  delete r.details;
  fs.writeFileSync(file, JSON.stringify(r));
  fs.writeFileSync(kept, values.join('\n') + '\n');
  return values;
}

function job(file) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const values = latencies(file, r);
  const errors = r.errorDistribution || {};
  const cut = meta.kind === 'ceiling' ? Object.entries(errors).reduce((n, [m, c]) => n + (CUT.test(m) ? c : 0), 0) : 0;
  const status = r.statusCodeDistribution || {};
  const ok = status.OK || 0;
  const cpuFile = file.replace(/\.json$/, '.cpu');
  const j = {
    method: path.basename(file).replace(/^ghz-|\.json$/g, ''),
    target_rate: r.options && r.options.rps ? r.options.rps : null,
    count: r.count,
    ok,
    failed: r.count - ok - cut,
    cut_at_end: cut,
    status,
    errors: Object.fromEntries(Object.entries(errors).slice(0, 5)),
    achieved_rate: r.total ? ok / (r.total / 1e9) : 0, // successful calls per second
    latencies: values,
    ghz_ticks: fs.existsSync(cpuFile) ? Number(fs.readFileSync(cpuFile, 'utf8')) : 0,
  };
  j.latency_ms = latency(j.latencies);
  return j;
}

const jobs = fs
  .readdirSync(dir)
  .filter((f) => /^ghz-.*\.json$/.test(f))
  .map((f) => job(path.join(dir, f)));
const count = jobs.reduce((n, j) => n + j.count, 0);
// CPU per successful call: failures cost too, but a run that fails fast would look cheap. (With
// failures ghz's count can exceed the calls asked for: it counts every failed attempt.)
const okCalls = jobs.reduce((n, j) => n + j.ok, 0);

// CPU per call, µs: the system's own process as measured; shared processes less their idle use.
const before = readTicks('cpu-before.txt');
const after = readTicks('cpu-after.txt');
after.ghz = jobs.reduce((n, j) => n + j.ghz_ticks, 0);
before.ghz = 0;
const perCall = {};
const cores = {};
for (const group of Object.keys(after)) {
  if (group.startsWith('machine_')) continue;
  const own = group === meta.system || group === 'ghz';
  const ticks = Math.max(0, after[group] - (before[group] || 0) - (own ? 0 : (idle[group] || 0) * wallS));
  perCall[group] = okCalls ? ((ticks / hz) * 1e6) / okCalls : null;
  cores[group] = ticks / hz / wallS;
}
const members = meta.system === 'baseline' ? ['baseline', 'redis'] : [meta.system, 'redis', 'postgres', 'kafka'];
const machineAll = after.machine_all - before.machine_all;
const machineBusy = (after.machine_busy - before.machine_busy) / (machineAll || 1);
const oursCores = Object.values(cores).reduce((n, c) => n + c, 0);
const allCores = require('os').cpus().length;

const allLatencies = jobs.flatMap((j) => j.latencies);
const stats = {
  ...meta,
  wall_s: wallS,
  count,
  ok: okCalls,
  failed: jobs.reduce((n, j) => n + j.failed, 0),
  achieved_rate: jobs.reduce((n, j) => n + j.achieved_rate, 0),
  latency_ms: latency(allLatencies),
  jobs: jobs.map((j) => Object.fromEntries(Object.entries(j).filter(([k]) => k !== 'latencies' && k !== 'ghz_ticks'))),
  cpu_us_per_call: perCall,
  cpu_total_us_per_call: okCalls ? members.reduce((n, g) => n + (perCall[g] || 0), 0) : null,
  cpu_total_members: members,
  cores_busy: cores,
  machine: { cores: allCores, busy_share: machineBusy, others_cores: Math.max(0, machineBusy * allCores - oursCores) },
  pending_at_start: fs.existsSync(path.join(dir, 'pending-at-start.txt'))
    ? Number(fs.readFileSync(path.join(dir, 'pending-at-start.txt'), 'utf8'))
    : 0,
  metrics: metricsView(dir, okCalls),
};
fs.writeFileSync(path.join(dir, 'stats.json'), JSON.stringify(stats, null, 1) + '\n');

const f = (x, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
const l = stats.latency_ms;
const label = meta.kind === 'open' ? `${meta.rate}/s` : meta.kind === 'mixed' ? `mixed ${meta.rate}/s` : meta.kind;
process.stdout.write(
  `  ${label.padEnd(14)} ${meta.system.padEnd(8)} ${String(okCalls).padStart(7)} OK at ${f(stats.achieved_rate, 0)}/s: ` +
    `p50 ${f(l.p50, 2)} p99 ${f(l.p99, 2)} p99.9 ${f(l.p999, 2)} max ${f(l.max, 1)} ms; ` +
    `failed ${stats.failed}; CPU ${f(stats.cpu_total_us_per_call, 0)} us/OK call; ` +
    `machine ${f(machineBusy * 100, 0)}% busy, ${f(stats.machine.others_cores, 1)} cores by others\n`,
);
