// What the services complained about during the run: their warn/error log lines, grouped by
// message (numbers masked), most frequent first. Non-JSON lines (Node's own warnings) count too.
const fs = require('fs');
const path = require('path');

function digest(file) {
  if (!fs.existsSync(file)) return undefined;
  const counts = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    let msg;
    try {
      const entry = JSON.parse(line);
      if (!['warn', 'error', 'fatal', 40, 50, 60].includes(entry.level)) continue;
      msg = `${entry.level}: ${entry.context ? `${entry.context}: ` : ''}${entry.msg}`;
    } catch {
      if (!/warning|error/i.test(line) || line.startsWith('(Use `node')) continue;
      msg = line.trim();
    }
    const key = msg.replace(/\d+/g, 'N').slice(0, 200);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([message, count]) => ({ message, count }));
}

module.exports = (dir) =>
  Object.fromEntries(
    ['durable', 'fast', 'baseline']
      .map((s) => [s, digest(path.join(dir, 'logs', `${s}.log`))])
      .filter(([, d]) => d && d.length),
  );
