import {
  allPanels,
  datasourceType,
  KUBERNETES_METRICS,
  KUBERNETES_ONLY_PANELS,
  loadDashboard,
  metricNames,
  promQueries,
} from './support/dashboard';

/**
 * The Grafana dashboard's structure (k8s/ledger/files/dashboards/ledger.json). That each of its
 * PromQL expressions returns data from a real Prometheus scraping the service is
 * test/observability/dashboard-queries.e2e-spec.ts.
 */
describe('the Grafana dashboard JSON', () => {
  const dashboard = loadDashboard();
  const panels = allPanels(dashboard);
  const contentPanels = panels.filter((p) => p.type !== 'row');
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));

  it('has a uid, a title and a current schema version', () => {
    expect(dashboard.uid).toBe('ledger-service');
    expect(dashboard.title).toBe('Ledger service');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  });

  it('has unique panel ids', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lays panels out on the 24-column grid without overlaps', () => {
    const boxes = dashboard.panels.map((p) => ({ title: p.title, ...p.gridPos }));
    for (const b of boxes) {
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.w).toBeGreaterThan(0);
      expect(b.h).toBeGreaterThan(0);
      expect(b.x + b.w).toBeLessThanOrEqual(24);
    }
    const overlaps: string[] = [];
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
          overlaps.push(`${a.title} / ${b.title}`);
        }
      }
    }
    expect(overlaps).toEqual([]);
  });

  it('resolves every data source reference to a data source variable of the same type', () => {
    const unresolved: string[] = [];
    for (const panel of contentPanels) {
      for (const ref of [panel.datasource, ...(panel.targets ?? []).map((t) => t.datasource)]) {
        if (!ref) {
          unresolved.push(`${panel.title}: no datasource`);
          continue;
        }
        const variable = /^\$\{(\w+)\}$/.exec(ref.uid)?.[1];
        const v = variable === undefined ? undefined : variables.get(variable);
        if (!v || v.type !== 'datasource' || v.query !== ref.type)
          unresolved.push(`${panel.title}: ${JSON.stringify(ref)}`);
      }
    }
    expect(unresolved).toEqual([]);
    expect(dashboard.annotations.list.map((a) => a.datasource)).toEqual([{ type: 'grafana', uid: '-- Grafana --' }]);
  });

  it('defines every variable the queries use', () => {
    const used = new Set<string>();
    for (const panel of contentPanels) {
      for (const target of panel.targets ?? []) {
        const text = JSON.stringify(target);
        for (const m of text.matchAll(/\$\{?(\w+)\}?/g)) if (!m[1]!.startsWith('__')) used.add(m[1]!);
      }
      if (panel.repeat) used.add(panel.repeat);
    }
    for (const name of panels
      .filter((p) => p.type === 'row')
      .flatMap((p) => [...p.title.matchAll(/\$(\w+)/g)].map((m) => m[1]!))) {
      used.add(name);
    }
    expect([...used].filter((name) => !variables.has(name))).toEqual([]);
    // A repeated row needs a multi-value variable with "All".
    const repeat = panels.find((p) => p.repeat)!;
    expect(variables.get(repeat.repeat!)).toMatchObject({ multi: true, includeAll: true });
  });

  it('gives every panel a title, a description and at least one query', () => {
    for (const panel of contentPanels) {
      expect(panel.title).toEqual(expect.any(String));
      expect(panel.description).toEqual(expect.any(String));
      expect((panel.targets ?? []).length).toBeGreaterThan(0);
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  it('has the rows the issue lists', () => {
    const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
    for (const expected of [
      /RED/,
      /Business/,
      /Domain steps/,
      /Redis/,
      /Postgres/,
      /Kafka/,
      /Node\.js/,
      /Pods/,
      /Logs and traces/,
    ]) {
      expect(rows.some((title) => expected.test(title))).toBe(true);
    }
    const titles = contentPanels.map((p) => p.title);
    for (const title of [
      'Rate by code',
      'Server error ratio',
      'Latency p50 / p90 / p99 / max',
      'Business rejects by reason',
      'In flight',
      'Step p99',
      'EVALSHA p99 by script',
      'Script failures (faults)',
      'Postgres statement p99',
      'Postgres pool',
      'Outbox lag',
      'Kafka produce latency',
      'Heap and RSS',
      'GC pause p99',
      'Event loop lag',
      ...KUBERNETES_ONLY_PANELS,
      'Service logs (filter: trace id)',
      'Trace (by trace id)',
    ]) {
      expect(titles).toContain(title);
    }
  });

  it('selects the ledger in every query of its own metrics (job="ledger", namespace and pod variables)', () => {
    for (const query of promQueries(dashboard)) {
      if (KUBERNETES_ONLY_PANELS.includes(query.panel)) continue;
      for (const selector of query.expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{([^}]*)\}/g)) {
        expect(`${query.panel}: ${selector[1]}`).toMatch(/job="ledger", namespace=~"\$namespace", pod=~"\$pod"/);
      }
      expect(metricNames(query.expr).every((m) => !KUBERNETES_METRICS.has(m))).toBe(true);
    }
  });

  it('uses only cAdvisor and kube-state-metrics series in the Kubernetes-only panels, for the ledger container', () => {
    const kubeQueries = promQueries(dashboard).filter((q) => KUBERNETES_ONLY_PANELS.includes(q.panel));
    expect(new Set(kubeQueries.map((q) => q.panel))).toEqual(new Set(KUBERNETES_ONLY_PANELS));
    for (const query of kubeQueries) {
      const names = metricNames(query.expr);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((m) => !KUBERNETES_METRICS.has(m))).toEqual([]);
      expect(query.expr).toContain('container="ledger"');
    }
  });

  it('filters the Loki logs panel by trace id, with a matcher Loki accepts', () => {
    const logs = contentPanels.find((p) => p.type === 'logs')!;
    expect(datasourceType(dashboard, logs.datasource)).toBe('loki');
    const expr = logs.targets![0]!.expr!;
    // LogQL needs one matcher that cannot match the empty string.
    expect(expr).toMatch(/container="ledger"/);
    expect(expr).toContain('|= "$trace_id"');
  });

  it('links traces: a Jaeger trace panel on the trace id and a search of slow Reserve calls', () => {
    const jaeger = contentPanels.filter((p) => datasourceType(dashboard, p.datasource) === 'jaeger');
    expect(jaeger.map((p) => p.type).sort()).toEqual(['table', 'traces']);
    expect(jaeger.find((p) => p.type === 'traces')!.targets![0]).toMatchObject({ query: '$trace_id' });
    expect(jaeger.find((p) => p.type === 'table')!.targets![0]).toMatchObject({
      queryType: 'search',
      operation: 'ledger.v1.LedgerService/Reserve',
      minDuration: '10ms',
    });
  });
});
