// The Markdown summary of one run: node bench/report/markdown.js <summary.json> <plot file name>
// With --targets instead of a plot name: only the targets table (the end of the progress output).
const fs = require('fs');
const md = require('./md');

const [file, plot] = process.argv.slice(2);
const s = JSON.parse(fs.readFileSync(file, 'utf8'));
if (plot === '--targets') {
  process.stdout.write(`\nTargets (reference rate ${s.targets.reference_rate}/s):\n${md.targetsTable(s)}\n`);
  process.exit(0);
}
const { f, table } = md;
const c = s.context;
const out = [];
const say = (...blocks) => out.push(...blocks.filter((b) => b !== '')); // joined by blank lines

say(
  `# Reserve benchmark, ${c.started} (commit ${c.commit}${c.dirty ? ', with uncommitted changes' : ''})`,
  md.machineLine(s),
);
say(
  '## Targets',
  `Reference rate ${s.targets.reference_rate}/s (open loop). A rate holds when p99 < 10 ms, no call failed and at least 95% of the rate was reached.`,
  md.targetsTable(s),
);
say(
  '## Latency against rate (open loop, Reserve)',
  `![p50 and p99 against the offered rate](${plot})`,
  md.latencyTable(s),
);
say('### Every run', md.runsTable(s));
const idle = Object.entries(s.idle_ticks_per_s)
  .filter(([k]) => !k.startsWith('machine'))
  .map(([k, v]) => `${k} ${f(v, 1)}`)
  .join(', ');
say(
  '## CPU per call (µs, from /proc)',
  `Own process as measured; Redis, Postgres (all its backends and background processes), Kafka and Jaeger less their idle use (measured before the runs, ticks/s: ${idle}). ` +
    'Total = own + Redis (+ Postgres + Kafka for the ledger); Jaeger and ghz are shown, not counted.',
  md.cpuTable([...md.openRuns(s), ...md.ceilingRuns(s), ...(s.mixed ? [s.mixed] : [])]),
);
if (md.ceilingRuns(s).length) {
  say(
    '## Closed-loop ceiling',
    'Each system as fast as the callers go (no arrival rate; calls cut when the time is up are not counted).',
    md.ceilingTable(s),
  );
}
if (s.mixed) {
  say(
    `## Mixed flow at ${s.mixed.rate}/s (durable)`,
    'Four ghz processes at once, each open loop at its share: Reserve (fresh ids), partial CommitReservation (0.01 of pre-made 1.00 holds, about 20 fills each), ReleaseReservation (pre-made holds, each once), GetAccount.',
    md.mixedTable(s.mixed),
  );
}
say(require('./markdown-metrics')(s));
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
if (s.profile && s.profile.top) say(require('./markdown-profile')(s.profile));
process.stdout.write(`${out.join('\n\n')}\n`);
