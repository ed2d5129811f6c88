// The service's own view of one run, from its /metrics before and after the run and the gauges
// sampled during it (bench/lib/load.sh). Families the service does not export are left out, so the
// view follows whatever the service is.
const fs = require('fs');
const path = require('path');
const prom = require('./prom');

const read = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
const ms = (seconds) => (seconds === null ? null : seconds * 1000);

// One entry per label group: count (per call when calls > 0), p50/p99 in ms (or raw units).
function summarize(samples, family, by, calls, scale = ms) {
  const out = {};
  for (const h of prom.histograms(samples, family, by)) {
    if (!h.count) continue;
    const name = by.map((k) => h.labels[k]).join('/') || 'all';
    out[name] = {
      count: h.count,
      per_call: calls ? h.count / calls : null,
      mean: scale(h.sum / h.count),
      p50: scale(prom.quantile(0.5, h.buckets)),
      p99: scale(prom.quantile(0.99, h.buckets)),
    };
  }
  return Object.keys(out).length ? out : undefined;
}

// Postgres statements that run at least once per 100 calls (not the odd snapshot or rebuild).
const frequent = (byOperation) =>
  byOperation &&
  Object.fromEntries(Object.entries(byOperation).filter(([, v]) => v.per_call === null || v.per_call >= 0.01));

// Non-cumulative bucket counts [[upper bound, n]], empty buckets dropped.
function distribution(samples, family) {
  const [h] = prom.histograms(samples, family);
  if (!h || !h.count) return undefined;
  let previous = 0;
  const buckets = [];
  for (const [le, cumulative] of h.buckets) {
    if (cumulative - previous > 0) buckets.push([le === Infinity ? '+Inf' : le, cumulative - previous]);
    previous = cumulative;
  }
  return { count: h.count, mean: h.sum / h.count, buckets };
}

// Max over the samples of each series of a gauge, by one label.
function gaugeMax(lines, name, by) {
  const out = {};
  for (const s of lines) {
    if (s.name !== name) continue;
    const k = by ? s.labels[by] || '' : 'all';
    out[k] = Math.max(out[k] ?? -Infinity, s.value);
  }
  return Object.keys(out).length ? out : undefined;
}

function metricsView(dir, calls) {
  const before = prom.parse(read(path.join(dir, 'metrics-before.txt')));
  const after = prom.parse(read(path.join(dir, 'metrics-after.txt')));
  if (!after.length) return undefined;
  const d = prom.delta(before, after);
  const sampled = prom
    .parse(
      read(path.join(dir, 'samples.txt'))
        .split('\n')
        .map((l) => l.replace(/^\d+ /, ''))
        .join('\n'),
    )
    .concat(after);
  const lag = gaugeMax(sampled, 'nodejs_eventloop_lag_p99_seconds');
  const lagMax = gaugeMax(sampled, 'nodejs_eventloop_lag_max_seconds');
  return {
    grpc_server_ms: summarize(d, 'grpc_server_handling_seconds', ['grpc_method'], calls),
    redis_evalsha_ms: summarize(d, 'ledger_redis_script_seconds', ['script'], calls),
    ack_wait_ms: summarize(d, 'ledger_ack_wait_seconds', ['mode'], calls),
    pg_query_ms: frequent(summarize(d, 'ledger_pg_query_seconds', ['operation'], calls)),
    relay_batch_ms: summarize(d, 'ledger_relay_batch_seconds', [], calls),
    relay_batch_size: distribution(d, 'ledger_relay_batch_size'),
    kafka_produce_ms: summarize(d, 'ledger_kafka_produce_seconds', [], calls),
    outbox_lag_max_s: gaugeMax(sampled, 'ledger_outbox_oldest_unpublished_seconds', 'store'),
    outbox_pending_max: gaugeMax(sampled, 'ledger_outbox_pending_events', 'store'),
    event_loop_delay_ms: lag && { p99_max: lag.all * 1000, max: lagMax ? lagMax.all * 1000 : null },
    // GC pauses stop the event loop: a scavenge that copies many survivors shows in every tail.
    gc_ms: summarize(d, 'nodejs_gc_duration_seconds', ['kind'], calls),
  };
}

module.exports = { metricsView };
