import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../../observability/support/tools';

export const DASHBOARD_FILE = join(REPO, 'k8s/ledger/files/dashboards/ledger.json');

export interface DatasourceRef {
  type: string;
  uid: string;
}
export interface Target {
  refId: string;
  datasource?: DatasourceRef;
  expr?: string;
  query?: string;
  queryType?: string;
  service?: string;
  [field: string]: unknown;
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: DatasourceRef;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
  repeat?: string;
  collapsed?: boolean;
}
export interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  definition?: string;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  datasource?: DatasourceRef;
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: { datasource: DatasourceRef }[] };
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels (collapsed rows) included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * The panels that can only show data inside Kubernetes: their series come from cAdvisor (through
 * the kubelet) and kube-state-metrics, which kube-prometheus-stack scrapes and which do not exist
 * outside a cluster. Named here one by one; every other Prometheus panel must return data from a
 * real Prometheus scraping the service (test/observability/dashboard-queries.e2e-spec.ts).
 */
export const KUBERNETES_ONLY_PANELS = ['Pod CPU', 'Pod memory', 'Container restarts'];

/**
 * The Kubernetes-only metric names those panels may use: cAdvisor's container_* series and
 * kube-state-metrics' kube_pod_* series, as kube-prometheus-stack's own dashboards and the
 * kube-state-metrics pod metrics reference name them.
 */
export const KUBERNETES_METRICS = new Set([
  // cAdvisor (kubelet /metrics/cadvisor)
  'container_cpu_usage_seconds_total',
  'container_memory_working_set_bytes',
  // kube-state-metrics (pod metrics)
  'kube_pod_container_resource_requests',
  'kube_pod_container_resource_limits',
  'kube_pod_container_status_restarts_total',
]);

export interface PromQuery {
  panel: string;
  refId: string;
  expr: string;
}

export function datasourceType(dashboard: Dashboard, ref: DatasourceRef | undefined): string | undefined {
  if (!ref) return undefined;
  const variable = /^\$\{?(\w+)\}?$/.exec(ref.uid)?.[1];
  if (variable === undefined) return ref.type;
  const v = dashboard.templating.list.find((t) => t.name === variable && t.type === 'datasource');
  return typeof v?.query === 'string' ? v.query : undefined;
}

/** Every Prometheus target's PromQL, with its panel's title. */
export function promQueries(dashboard: Dashboard): PromQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t) => datasourceType(dashboard, t.datasource ?? panel.datasource) === 'prometheus')
      .map((t) => ({ panel: panel.title, refId: t.refId, expr: t.expr ?? '' })),
  );
}

/**
 * A query as Grafana sends it with every variable at "All" (`.*`, the variables' allValue) and
 * $__rate_interval at `rateInterval`.
 */
export function expand(expr: string, rateInterval: string): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', rateInterval)
    .replace(/\$\{?(namespace|pod|method|command)\}?/g, '.*');
}

/** Metric names of a PromQL expression: every identifier directly followed by a selector. */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!))];
}

/** The series selector and label of a `label_values(selector, label)` variable query. */
export function labelValuesQuery(variable: Variable): { selector: string; label: string } | undefined {
  const text = typeof variable.query === 'string' ? variable.query : variable.query?.query;
  const match = /^label_values\((.+),\s*(\w+)\)$/.exec(text ?? '');
  return match ? { selector: match[1]!, label: match[2]! } : undefined;
}
