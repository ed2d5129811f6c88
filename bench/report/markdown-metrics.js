// The "service's view" section of the Markdown summary: what the ledger's own /metrics said during
// each run (bench/report/metrics-view.js).
const { f, ms, table } = require('./md');

module.exports = function metricsSection(s) {
  const lines = ["## The service's view (its /metrics, per run)"];
  const each = (o, fn) =>
    o
      ? Object.entries(o)
          .map(([k, v]) => `${k} ${fn(v)}`)
          .join(', ')
      : '-';
  // The baseline exports its GC pauses only: its other columns stay empty.
  for (const system of ['durable', 'fast', 'baseline']) {
    const runs = (s.open[system] || []).filter((r) => r.metrics);
    if (s.mixed && system === 'durable' && s.mixed.metrics) runs.push(s.mixed);
    if (!runs.length) continue;
    lines.push(
      '',
      `### ${system}`,
      '',
      table(
        [
          'rate/s',
          'server p99 ms',
          'ack wait p50 / p99 ms',
          'Redis EVALSHA p99 ms',
          'relay batches: mean size, commit p99 ms',
          'Postgres queries per call',
          'outbox lag max s',
          'event-loop delay p99 ms',
          'GC pauses: count, mean ms',
        ],
        runs.map((r) => {
          const v = r.metrics;
          const ack = v.ack_wait_ms && Object.values(v.ack_wait_ms)[0];
          const batch = v.relay_batch_size;
          return [
            r.kind === 'open' ? r.rate : `mixed ${r.rate}`,
            each(v.grpc_server_ms, (x) => ms(x.p99)),
            ack ? `${ms(ack.p50)} / ${ms(ack.p99)}` : '-',
            each(v.redis_evalsha_ms, (x) => ms(x.p99)),
            batch
              ? `${f(batch.mean, 1)} (${batch.count} batches), ${v.relay_batch_ms ? ms(v.relay_batch_ms.all.p99) : '-'}`
              : '-',
            each(v.pg_query_ms, (x) => f(x.per_call, 2)),
            each(v.outbox_lag_max_s, (x) => f(x, 2)),
            v.event_loop_delay_ms ? ms(v.event_loop_delay_ms.p99_max) : '-',
            each(v.gc_ms, (x) => `${x.count}, ${ms(x.mean)}`),
          ];
        }),
      ),
    );
  }
  const ref = (s.open.durable || []).find((r) => r.rate === s.targets.reference_rate);
  const hist = ref && ref.metrics && ref.metrics.relay_batch_size;
  if (hist) {
    lines.push(
      '',
      `Relay batch sizes, durable at ${ref.rate}/s (events per batch, upper bound of each histogram bucket):`,
      '',
      table(
        ['events <=', ...hist.buckets.map(([le]) => String(le))],
        [['batches', ...hist.buckets.map(([, n]) => String(n))]],
      ),
    );
  }
  return lines.join('\n');
};
