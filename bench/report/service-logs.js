// What the services complained about during the run: their warn/error log lines, grouped by
// message (ids and numbers masked): background work (relay, publisher, ...) first, then failed
// calls, most frequent first. Non-JSON lines (Node's own warnings) count as background.
const fs = require('fs');
const path = require('path');

function digest(file) {
  if (!fs.existsSync(file)) return undefined;
  const counts = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    let msg;
    let kind = 'background';
    try {
      const entry = JSON.parse(line);
      if (!['warn', 'error', 'fatal', 40, 50, 60].includes(entry.level)) continue;
      if (entry.context === 'grpc') kind = 'call';
      msg = `${entry.level}: ${entry.context ? `${entry.context}: ` : ''}${entry.msg}`;
    } catch {
      if (!/warning|error/i.test(line) || line.startsWith('(Use `node')) continue;
      msg = line.trim();
    }
    const key = `${kind}\t${msg
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID')
      .replace(/\d+/g, 'N')
      .slice(0, 200)}`;
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  // The relay's, publisher's and snapshotter's complaints first: one of them explains many failed calls.
  return [...counts.entries()]
    .map(([key, count]) => ({ kind: key.split('\t')[0], message: key.split('\t')[1], count }))
    .sort((a, b) => (a.kind === b.kind ? b.count - a.count : a.kind === 'background' ? -1 : 1))
    .slice(0, 8);
}

module.exports = (dir) =>
  Object.fromEntries(
    ['durable', 'fast', 'baseline']
      .map((s) => [s, digest(path.join(dir, 'logs', `${s}.log`))])
      .filter(([, d]) => d && d.length),
  );
