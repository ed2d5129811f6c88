// The profile section of the Markdown summary (bench/report/profile.js, `--cpu-prof`).
const { f, table } = require('./md');

module.exports = function profileSection(p) {
  const r = p.run;
  const t = p.top;
  const rows = (list) => list.map((x) => [`\`${x.name}\``, f(x.ms, 0), `${f(x.share * 100, 1)}%`]);
  return [
    `## CPU profile of the durable service at ${r.rate}/s`,
    '',
    `${f(t.busy_ms / 1000, 1)} s busy of ${f(t.sampled_ms / 1000, 1)} s sampled (${r.count} calls: ` +
      `${f((t.busy_ms * 1000) / r.count, 0)} µs of the main thread per call). Self time; the raw profile is in the run's ` +
      'results (profile/durable.cpuprofile, for Chrome DevTools or speedscope).',
    '',
    table(['origin', 'ms', 'share of busy'], rows(t.origins.slice(0, 10))),
    '',
    table(['function', 'ms', 'share of busy'], rows(t.functions.slice(0, 15))),
  ].join('\n');
};
