import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO } from '../observability/support/tools';
import { CHART, find, helm, KUBE_VERSION, render } from './support/chart';
import { type KubeObject, nameOf, schemaProblems } from './support/kube-schemas';

jest.setTimeout(120_000);

const PRODUCTION = join(CHART, 'ci/production-values.yaml');
const DEV = join(REPO, 'k8s/stack/values/ledger-dev.yaml');
const BAD = join(REPO, 'test/deploy/fixtures/bad-values.yaml');

type Container = {
  name: string;
  image: string;
  securityContext: Record<string, unknown>;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: unknown[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  startupProbe?: unknown;
  resources?: unknown;
  command?: string[];
};
type PodSpec = { securityContext: Record<string, unknown>; containers: Container[]; serviceAccountName?: string };

const podSpec = (o: KubeObject): PodSpec => (o['spec'] as { template: { spec: PodSpec } }).template.spec;

describe('the ledger chart: helm lint, helm template, Kubernetes schemas', () => {
  const configurations: [string, string[]][] = [
    ['default values', []],
    ['production-like values (ci/production-values.yaml)', [PRODUCTION]],
    ["the dev cluster's values (k8s/stack/values/ledger-dev.yaml, k8s/install.sh)", [DEV]],
  ];

  describe.each(configurations)('%s', (_label, files) => {
    let objects: KubeObject[];

    beforeAll(() => {
      objects = render(files);
    });

    it('passes helm lint --strict', () => {
      const result = helm([
        'lint',
        CHART,
        '--strict',
        '--kube-version',
        KUBE_VERSION,
        ...files.flatMap((f) => ['-f', f]),
      ]);
      expect(`${result.stdout}${result.stderr}`).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.status).toBe(0);
    });

    it('renders objects that validate against the Kubernetes and Prometheus operator schemas, with no unknown field', async () => {
      expect(objects.length).toBeGreaterThan(5);
      const problems: Record<string, unknown> = {};
      for (const object of objects) {
        const found = await schemaProblems(object);
        if (found.errors.length > 0 || found.unknownFields.length > 0) problems[nameOf(object)] = found;
      }
      expect(problems).toEqual({});
    });

    it('runs the container non-root, read-only, without capabilities, under seccomp RuntimeDefault', () => {
      for (const workload of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')) {
        const spec = podSpec(workload);
        expect(spec.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 10001,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const container of spec.containers) {
          expect(container.securityContext).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          });
        }
      }
    });

    it('gives every object the recommended labels, and selects only the serving pods', () => {
      for (const object of objects) {
        expect(object.metadata.labels).toMatchObject({
          'app.kubernetes.io/name': 'ledger',
          'app.kubernetes.io/instance': 'ledger',
          'app.kubernetes.io/managed-by': 'Helm',
          'helm.sh/chart': 'ledger-0.1.0',
        });
      }
      const deployment = find(objects, 'Deployment', 'ledger');
      const selector = (deployment['spec'] as { selector: { matchLabels: Record<string, string> } }).selector
        .matchLabels;
      expect(selector).toEqual({
        'app.kubernetes.io/name': 'ledger',
        'app.kubernetes.io/instance': 'ledger',
        'app.kubernetes.io/component': 'server',
      });
      expect((find(objects, 'Service', 'ledger')['spec'] as { selector: unknown }).selector).toEqual(selector);
      // The migration Job's pods must never receive traffic or count for the PodDisruptionBudget.
      const job = find(objects, 'Job', 'ledger-migrations');
      const jobPodLabels = (job['spec'] as { template: { metadata: { labels: Record<string, string> } } }).template
        .metadata.labels;
      expect(jobPodLabels['app.kubernetes.io/component']).toBe('migrations');
    });

    it('serves gRPC and metrics, probes /health/live and /health/ready, and rolls on config changes', () => {
      const deployment = find(objects, 'Deployment', 'ledger');
      const [container] = podSpec(deployment).containers;
      expect(container!.ports).toEqual([
        expect.objectContaining({ name: 'grpc', containerPort: 50051 }),
        expect.objectContaining({ name: 'http-metrics', containerPort: 9464 }),
      ]);
      expect(container!.livenessProbe).toMatchObject({ httpGet: { path: '/health/live', port: 'http-metrics' } });
      expect(container!.readinessProbe).toMatchObject({ httpGet: { path: '/health/ready', port: 'http-metrics' } });
      expect(container!.startupProbe).toMatchObject({ httpGet: { path: '/health/live' } });
      const annotations = (deployment['spec'] as { template: { metadata: { annotations: Record<string, string> } } })
        .template.metadata.annotations;
      expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
      expect(annotations['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
      const ports = (find(objects, 'Service', 'ledger')['spec'] as { ports: { name: string }[] }).ports;
      expect(ports.map((p) => p.name)).toEqual(['grpc', 'http-metrics']);
    });

    it('runs the migrations as a pre-install/pre-upgrade hook with the same image', () => {
      const job = find(objects, 'Job', 'ledger-migrations');
      expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      const [migrate] = podSpec(job).containers;
      const [server] = podSpec(find(objects, 'Deployment', 'ledger')).containers;
      expect(migrate!.image).toBe(server!.image);
      expect(migrate!.command).toEqual(['node', 'dist/src/infrastructure/postgres/migrate.js']);
      expect(migrate!.env?.find((e) => e.name === 'LEDGER_DATABASE_URL')?.valueFrom?.secretKeyRef).toBeDefined();
    });

    it('reads the credential URLs from a Secret, never from the ConfigMap', () => {
      const configMap = find(objects, 'ConfigMap', 'ledger');
      const data = configMap['data'] as Record<string, string>;
      expect(Object.keys(data)).not.toEqual(expect.arrayContaining(['LEDGER_DATABASE_URL']));
      expect(Object.keys(data)).not.toContain('LEDGER_REDIS_URL');
      const env = podSpec(find(objects, 'Deployment', 'ledger')).containers[0]!.env ?? [];
      for (const name of ['LEDGER_DATABASE_URL', 'LEDGER_REDIS_URL']) {
        expect(env.find((e) => e.name === name)?.valueFrom?.secretKeyRef?.name).toEqual(expect.any(String));
      }
    });
  });

  describe('default values', () => {
    let objects: KubeObject[];
    beforeAll(() => {
      objects = render([]);
    });

    it('renders exactly the objects a plain install needs (no operator objects, dashboard or HPA)', () => {
      expect(objects.map(nameOf).sort()).toEqual(
        [
          'ConfigMap/ledger',
          'Deployment/ledger',
          'Job/ledger-migrations',
          'Pod/ledger-test-grpc-health',
          'PodDisruptionBudget/ledger',
          'Secret/ledger-credentials',
          'Secret/ledger-migrations',
          'Service/ledger',
          'ServiceAccount/ledger',
        ].sort(),
      );
    });

    it('writes the connection URLs into the chart Secret, passwords URL-escaped', () => {
      const secret = find(
        render([], ['--set', 'postgres.password=p@ss w/rd', '--set', 'redis.password=r:e']),
        'Secret',
        'ledger-credentials',
      );
      expect(secret['stringData']).toEqual({
        'database-url': 'postgres://ledger:p%40ss%20w%2Frd@ledger-postgres.ledger-deps.svc.cluster.local:5432/ledger',
        'redis-url': 'redis://:r%3Ae@ledger-redis.ledger-deps.svc.cluster.local:6379/0',
      });
    });

    it('points the service at listeners on every interface and at the stack Jaeger', () => {
      expect(find(objects, 'ConfigMap', 'ledger')['data']).toMatchObject({
        LEDGER_GRPC_ADDRESS: '0.0.0.0:50051',
        LEDGER_HTTP_HOST: '0.0.0.0',
        LEDGER_HTTP_PORT: '9464',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger.observability.svc.cluster.local:4317',
      });
    });
  });

  describe('production-like values', () => {
    let objects: KubeObject[];
    beforeAll(() => {
      objects = render([PRODUCTION]);
    });

    it('renders the HPA instead of a fixed replica count, and a headless Service', () => {
      expect(find(objects, 'HorizontalPodAutoscaler', 'ledger')['spec']).toMatchObject({
        minReplicas: 3,
        maxReplicas: 12,
        scaleTargetRef: { kind: 'Deployment', name: 'ledger' },
      });
      expect(find(objects, 'Deployment', 'ledger')['spec']).not.toHaveProperty('replicas');
      expect(find(objects, 'Service', 'ledger-headless')['spec']).toMatchObject({ clusterIP: 'None' });
    });

    it('uses the existing Secrets and renders no credentials of its own', () => {
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      const env = podSpec(find(objects, 'Deployment', 'ledger')).containers[0]!.env ?? [];
      expect(env.find((e) => e.name === 'LEDGER_DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
        name: 'ledger-database',
        key: 'url',
      });
      expect(env.find((e) => e.name === 'LEDGER_REDIS_URL')?.valueFrom?.secretKeyRef).toEqual({
        name: 'ledger-redis',
        key: 'url',
      });
      const migrate = podSpec(find(objects, 'Job', 'ledger-migrations')).containers[0]!;
      expect(migrate.env?.find((e) => e.name === 'LEDGER_DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({
        name: 'ledger-database',
        key: 'url',
      });
      expect(podSpec(find(objects, 'Deployment', 'ledger')).containers[0]!.image).toBe(
        'registry.example.com/trading/ledger@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      );
    });

    it('scrapes the metrics port with job="ledger" (jobLabel), the label the rules and dashboard select on', () => {
      const monitor = find(objects, 'ServiceMonitor', 'ledger');
      expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
      expect(monitor['spec']).toMatchObject({
        jobLabel: 'app.kubernetes.io/name',
        namespaceSelector: { matchNames: ['ledger'] },
        selector: { matchLabels: { 'app.kubernetes.io/component': 'server' } },
        endpoints: [{ port: 'http-metrics', path: '/metrics', interval: '15s' }],
      });
    });

    it('embeds the tested alert rules file in the PrometheusRule, adding the team label and runbook links', () => {
      const file = parse(readFileSync(join(CHART, 'files/prometheus-rules.yaml'), 'utf8')) as RuleFile;
      const rule = find(objects, 'PrometheusRule', 'ledger');
      const groups = (rule['spec'] as RuleFile).groups;
      expect(groups.map((g) => g.name)).toEqual(file.groups.map((g) => g.name));
      for (const [i, group] of groups.entries()) {
        const source = file.groups[i]!;
        expect(group.rules.map((r) => [r.alert, r.expr, r.for])).toEqual(
          source.rules.map((r) => [r.alert, r.expr, r.for]),
        );
        for (const [j, alert] of group.rules.entries()) {
          expect(alert.labels).toEqual({ ...source.rules[j]!.labels, team: 'payments' });
          expect(alert.annotations).toEqual({
            ...source.rules[j]!.annotations,
            runbook_url: `https://git.example.com/trading/ledger/-/blob/main/README.md#alert-${alert.alert.toLowerCase()}`,
          });
        }
      }
    });

    it('ships the dashboard JSON unchanged in a ConfigMap labelled grafana_dashboard="1"', () => {
      const dashboard = find(objects, 'ConfigMap', 'ledger-dashboard');
      expect(dashboard.metadata.namespace).toBe('monitoring');
      expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      expect(dashboard.metadata.annotations).toMatchObject({ grafana_folder: 'Trading' });
      const json = (dashboard['data'] as Record<string, string>)['ledger.json']!;
      expect(JSON.parse(json)).toEqual(
        JSON.parse(readFileSync(join(CHART, 'files/dashboards/ledger.json'), 'utf8')) as unknown,
      );
    });
  });

  describe('values.schema.json', () => {
    function rejection(args: string[]): string {
      const result = helm(['template', 'ledger', CHART, '--kube-version', KUBE_VERSION, ...args]);
      expect(result.status).not.toBe(0);
      return result.stderr;
    }

    it('rejects the deliberately bad values file, naming each mistake', () => {
      const message = rejection(['-f', BAD]);
      expect(message).toContain("values don't meet the specifications of the schema");
      expect(message).toContain("additional properties 'replicas' not allowed");
      expect(message).toContain('/config/ackMode');
      expect(message).toContain('/podSecurityContext/runAsNonRoot');
      expect(message).toContain('/podSecurityContext/runAsUser');
    });

    it.each([
      [
        'a misspelt nested key',
        ['--set', 'metrics.serviceMonitor.enable=true'],
        "additional properties 'enable' not allowed",
      ],
      ['a string for a port', ['--set-string', 'service.grpcPort=grpc'], '/service/grpcPort'],
      ['an unknown ack mode', ['--set', 'config.ackMode=sometimes'], '/config/ackMode'],
      ['a malformed broker', ['--set', 'kafka.brokers[0]=kafka'], '/kafka/brokers/0'],
      ['a sampler ratio above 1', ['--set-string', 'tracing.samplerArg=2'], '/tracing/samplerArg'],
      ['a resource key typo', ['--set', 'resources.limits.memroy=1Gi'], "additional properties 'memroy' not allowed"],
      [
        'running as root',
        ['--set', 'containerSecurityContext.runAsNonRoot=false'],
        '/containerSecurityContext/runAsNonRoot',
      ],
      ['a required key removed', ['--set', 'image.repository=null'], '/image'],
    ])('rejects %s', (_what, args, expected) => {
      expect(rejection(args)).toContain(expected);
    });

    it('documents every value of values.yaml with an @param line', () => {
      const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');
      const documented = new Set([...text.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1]));
      const leaves: string[] = [];
      const walk = (value: unknown, path: string): void => {
        if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
          for (const [key, child] of Object.entries(value)) walk(child, path ? `${path}.${key}` : key);
        } else {
          leaves.push(path);
        }
      };
      walk(parse(text), '');
      // A leaf is documented by its own @param, or by its parent's for maps such as labels.
      const undocumented = leaves.filter(
        (leaf) => !documented.has(leaf) && !documented.has(leaf.split('.').slice(0, -1).join('.')),
      );
      expect(undocumented).toEqual([]);
    });
  });
});

interface RuleFile {
  groups: {
    name: string;
    rules: {
      alert: string;
      expr: string;
      for?: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    }[];
  }[];
}
