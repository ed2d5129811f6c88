// Prometheus text exposition: parse a scrape, subtract two scrapes, and histogram quantiles the way
// PromQL's histogram_quantile does (linear within a bucket).

/** text -> [{ name, labels: {k: v}, value }] */
function parse(text) {
  const samples = [];
  for (const line of (text || '').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

const key = (s, drop = []) =>
  `${s.name}{${Object.keys(s.labels)
    .filter((k) => !drop.includes(k))
    .sort()
    .map((k) => `${k}=${s.labels[k]}`)
    .join(',')}}`;

/** after - before, per series (a series missing before counts from 0). */
function delta(before, after) {
  const old = new Map(before.map((s) => [key(s), s.value]));
  return after.map((s) => ({ ...s, value: s.value - (old.get(key(s)) || 0) }));
}

/**
 * Histograms of one family, grouped by the labels in `by`:
 * [{ labels, buckets: [[le, cumulative count]...], count, sum }]
 */
function histograms(samples, family, by = []) {
  const groups = new Map();
  const group = (s) => {
    const labels = Object.fromEntries(by.map((k) => [k, s.labels[k] || '']));
    const id = JSON.stringify(labels);
    if (!groups.has(id)) groups.set(id, { labels, le: new Map(), count: 0, sum: 0 });
    return groups.get(id);
  };
  for (const s of samples) {
    if (s.name === `${family}_bucket`) {
      const g = group(s);
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      g.le.set(le, (g.le.get(le) || 0) + s.value);
    } else if (s.name === `${family}_count`) group(s).count += s.value;
    else if (s.name === `${family}_sum`) group(s).sum += s.value;
  }
  return [...groups.values()].map((g) => ({
    labels: g.labels,
    buckets: [...g.le.entries()].sort((a, b) => a[0] - b[0]),
    count: g.count,
    sum: g.sum,
  }));
}

/** PromQL histogram_quantile on cumulative buckets; null without observations. */
function quantile(q, buckets) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!total) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / (count - below || 1);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** The value of a gauge or counter series (summed over series matching `labels`). */
function value(samples, name, labels = {}) {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((n, s) => n + s.value, 0) : null;
}

module.exports = { parse, delta, histograms, quantile, value };
