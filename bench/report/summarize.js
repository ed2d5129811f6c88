// One bench run's summary: node bench/report/summarize.js <results dir>  >  summary.json
// Collects runs/*/stats.json (bench/report/run-stats.js), the context, the idle CPU, the profile
// summary, and computes the targets.
const fs = require('fs');
const path = require('path');
const { targets } = require('./targets');
const serviceLogs = require('./service-logs');

const dir = process.argv[2];
const readJson = (f, fallback) => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : fallback);

const runs = fs
  .readdirSync(path.join(dir, 'runs'))
  .map((name) => readJson(path.join(dir, 'runs', name, 'stats.json')))
  .filter((r) => r && r.kind !== 'warmup');

const bySystem = (kind) => {
  const out = {};
  for (const r of runs.filter((x) => x.kind === kind).sort((a, b) => a.rate - b.rate)) {
    (out[r.system] = out[r.system] || []).push(r);
  }
  return out;
};
const open = bySystem('open');
const ceiling = Object.fromEntries(Object.entries(bySystem('ceiling')).map(([s, [r]]) => [s, r]));
const mixed = runs.find((r) => r.kind === 'mixed');
const profiled = runs.find((r) => r.kind === 'profile');

const summary = {
  context: readJson(path.join(dir, 'context.json'), {}),
  finished: new Date().toISOString(),
  load_at_end: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  idle_ticks_per_s: readJson(path.join(dir, 'idle.json'), {}),
  targets: targets(open, mixed),
  open,
  ceiling,
  mixed,
  service_logs: serviceLogs(dir),
  profile: profiled && { run: profiled, top: readJson(path.join(dir, 'profile', 'summary.json'), null) },
};
process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
