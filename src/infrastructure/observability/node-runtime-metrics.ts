import { collectDefaultMetrics, type Registry } from 'prom-client';
import { GC_SECONDS_BUCKETS } from './metric-buckets';

const UNCONVENTIONAL_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** prom-client's default metrics of the Node runtime in `registry`, less the gauges named like counters. */
export function collectNodeRuntimeMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, gcDurationBuckets: GC_SECONDS_BUCKETS });
  // Gauges named like counters (promtool: non-counter metrics should not have "_total");
  // nodejs_active_{handles,requests,resources}{type} carry the same numbers by type.
  for (const name of UNCONVENTIONAL_DEFAULTS) registry.removeSingleMetric(name);
}
