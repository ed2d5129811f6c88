import {
  expand,
  KUBERNETES_ONLY_PANELS,
  labelValuesQuery,
  loadDashboard,
  promQueries,
  type PromQuery,
} from '../deploy/support/dashboard';
import { type RunningLedger, startLedger } from '../support/ledger-app';
import { load } from './support/mixed-load';
import { PrivateStack } from './support/private-stack';
import { type PromSample, TestPrometheus } from './support/prometheus';
import { waitFor } from './support/tools';

jest.setTimeout(120_000);

/**
 * Every PromQL expression of the Grafana dashboard (k8s/ledger/files/dashboards/ledger.json), run
 * against a real Prometheus that scraped the service (job="ledger", as the chart's ServiceMonitor
 * names it) during a short mixed load: each must return at least one series with a finite value,
 * or the panel could never show anything. Variables are at "All" (`.*`), $__rate_interval 1m.
 *
 * The Kubernetes-only panels (KUBERNETES_ONLY_PANELS: cAdvisor and kube-state-metrics series) have
 * no source outside a cluster: their queries must be valid PromQL that Prometheus accepts, and
 * they return nothing here; test/deploy/dashboard.e2e-spec.ts checks their metric names.
 */
describe('the dashboard against a real Prometheus scraping the service under load', () => {
  const dashboard = loadDashboard();
  const queries = promQueries(dashboard);
  let stack: PrivateStack;
  let ledger: RunningLedger;
  let prometheus: TestPrometheus;

  beforeAll(async () => {
    stack = await PrivateStack.start();
    ledger = await startLedger({ ...stack.env(), LEDGER_EXPIRY_SWEEP_INTERVAL_MS: '100' });
    prometheus = await TestPrometheus.start([new URL(ledger.httpUrl).host]);
    await waitFor('first scrape', async () => {
      const targets = await prometheus.targets();
      return targets.length === 1 && targets[0]!.health === 'up' ? true : undefined;
    });
    await load(ledger, stack.redis);
    await waitFor(
      'events published to Kafka',
      async () => {
        const text = await (await fetch(`${ledger.httpUrl}/metrics`)).text();
        return /^ledger_kafka_produced_events_total [1-9]/m.test(text) ? true : undefined;
      },
      30_000,
      250,
    );
    // Two good scrapes after the load: rate() needs two samples of a series, and the faults of the
    // Redis outage at the load's end make their series appear only then.
    await prometheus.pinToGoodScrape(Date.now());
    await prometheus.pinToGoodScrape(Date.now());
  });

  afterAll(async () => {
    await prometheus?.stop();
    await ledger?.close();
    await stack?.stop();
  });

  it('has PromQL in every Prometheus panel', () => {
    expect(queries.length).toBeGreaterThan(40);
    expect(queries.every((q) => q.expr.trim() !== '')).toBe(true);
  });

  const own = (q: PromQuery): boolean => !KUBERNETES_ONLY_PANELS.includes(q.panel);

  it.each(queries.filter(own).map((q) => [`${q.panel} [${q.refId}]`, q] as const))(
    '%s returns data',
    async (_name, query) => {
      const samples = await prometheus.query(expand(query.expr, '1m'));
      const finite = samples.filter((s: PromSample) => Number.isFinite(Number(s.value[1])));
      expect({ expr: query.expr, series: samples.length, finite: finite.length > 0 }).toEqual({
        expr: query.expr,
        series: expect.any(Number),
        finite: true,
      });
    },
  );

  it.each(queries.filter((q) => !own(q)).map((q) => [`${q.panel} [${q.refId}]`, q] as const))(
    '%s (Kubernetes only) is valid PromQL and finds no series outside a cluster',
    async (_name, query) => {
      // prometheus.query throws on a parse or evaluation error.
      expect(await prometheus.query(expand(query.expr, '1m'))).toEqual([]);
    },
  );

  it.each(
    dashboard.templating.list
      .filter((v) => labelValuesQuery(v) !== undefined)
      .map((v) => [v.name, labelValuesQuery(v)!] as const),
  )('variable $%s selects series of the service', async (name, { selector, label }) => {
    const samples = await prometheus.query(expand(selector, '1m'));
    expect(samples.length).toBeGreaterThan(0);
    // namespace and pod are the ServiceMonitor's target labels: present in a cluster only.
    if (name === 'method' || name === 'command') {
      expect(samples.every((s) => (s.metric[label] ?? '') !== '')).toBe(true);
    }
  });
});
