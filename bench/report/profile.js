// Where a CPU profile's time went: node bench/report/profile.js <file.cpuprofile>  >  summary.json
// Self time by function and by origin (an npm package, Node's internals, the ledger's own code,
// the garbage collector), from the samples and their time deltas.
const fs = require('fs');

const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) || 0) + (profile.timeDeltas[i] || 0)));

function origin({ url, functionName }) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.includes('/dist/src/')) return 'ledger (dist/src)';
  if (url.includes('/bench/')) return 'bench hook';
  return url;
}

const byFunction = new Map();
const byOrigin = new Map();
let total = 0;
let idle = 0;
for (const [id, us] of self) {
  const frame = nodes.get(id).callFrame;
  total += us;
  if (frame.functionName === '(idle)') {
    idle += us;
    continue;
  }
  const file = frame.url ? frame.url.replace(/^.*?\/(node_modules|dist)\//, '$1/') : '';
  const name = `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`.trim();
  byFunction.set(name, (byFunction.get(name) || 0) + us);
  byOrigin.set(origin(frame), (byOrigin.get(origin(frame)) || 0) + us);
}
const busy = total - idle;
const top = (map, n) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / busy }));
process.stdout.write(
  JSON.stringify(
    { sampled_ms: total / 1000, busy_ms: busy / 1000, functions: top(byFunction, 25), origins: top(byOrigin, 15) },
    null,
    1,
  ) + '\n',
);
