// Rewrites the README's latest-run excerpt (between the bench:latest markers) from a summary:
//   node bench/report/readme.js <summary.json> <README.md>
// The full summary is reports/bench/latest.md; the excerpt keeps the table, plot, targets and machine.
const fs = require('fs');
const md = require('./md');

const [file, readme] = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(file, 'utf8'));
const START = '<!-- bench:latest:start (written by npm run bench) -->';
const END = '<!-- bench:latest:end -->';
const ref = (system) => md.at(s, system, s.targets.reference_rate);
// What the services logged most (a stalled relay or publisher explains a lot of a run).
function logLines() {
  const rows = Object.entries(s.service_logs || {}).flatMap(([system, list]) =>
    [
      ...list.filter((x) => x.kind === 'background').slice(0, 3),
      ...list.filter((x) => x.kind === 'call').slice(0, 2),
    ].map((x) => [system, x.count, `\`${x.message.replace(/\|/g, '\\|')}\``]),
  );
  return rows.length
    ? ["The services' most frequent warnings and errors:", md.table(['system', 'lines', 'message'], rows)]
    : [];
}
const block = [
  START,
  `### Latest run (${s.context.started.slice(0, 10)})`,
  `${md.machineLine(s)} Everything in [reports/bench/latest.md](reports/bench/latest.md).`,
  '![p50 and p99 of Reserve against the offered rate, baseline, durable and fast](reports/bench/latest.svg)',
  md.latencyTable(s),
  `Targets at ${s.targets.reference_rate}/s:`,
  md.targetsTable(s),
  `CPU per call at ${s.targets.reference_rate}/s (µs, from /proc):`,
  md.cpuTable(['baseline', 'durable', 'fast'].map(ref).filter(Boolean)),
  ...(md.ceilingRuns(s).length ? ['Closed-loop ceiling (200 callers, no arrival rate):', md.ceilingTable(s)] : []),
  ...logLines(),
  END,
].join('\n\n');

const text = fs.readFileSync(readme, 'utf8');
const a = text.indexOf(START);
const b = text.indexOf(END);
if (a < 0 || b < a) {
  process.stderr.write(`readme: no bench:latest markers in ${readme}; left as it is\n`);
  process.exit(0);
}
fs.writeFileSync(readme, text.slice(0, a) + block + text.slice(b + END.length));
