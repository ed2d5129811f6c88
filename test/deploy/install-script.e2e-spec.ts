import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO, toolPath } from '../observability/support/tools';
import { readObjects } from './support/chart';
import { nameOf, schemaProblems } from './support/kube-schemas';

const SCRIPT = join(REPO, 'k8s/install.sh');
const STACK = join(REPO, 'k8s/stack');

function run(command: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    cwd: REPO,
    // No cluster, no helm, no kubectl needed: --dry-run only prints.
    env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', HELM: 'helm', KUBECTL: 'kubectl' },
    timeout: 60_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The steps (== lines) and helm releases (+ helm upgrade --install <release>) of a dry run, in order. */
function plan(args: string[]): { steps: string[]; releases: string[]; commands: string[] } {
  const { status, stdout, stderr } = run('bash', [SCRIPT, '--dry-run', ...args]);
  if (status !== 0) throw new Error(`install.sh --dry-run exited ${status}: ${stderr}`);
  const lines = stdout.split('\n');
  return {
    steps: lines.filter((l) => l.startsWith('== ')).map((l) => l.slice(3)),
    releases: lines
      .map((l) => /^\+ helm upgrade --install (\S+) /.exec(l)?.[1])
      .filter((r): r is string => r !== undefined),
    commands: lines.filter((l) => l.startsWith('+ ')),
  };
}

describe('the stack install script (k8s/install.sh)', () => {
  it('passes bash -n', () => {
    const result = run('bash', ['-n', SCRIPT]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('passes shellcheck (Debian shellcheck)', () => {
    const result = run(toolPath('shellcheck'), ['--shell=bash', '--severity=style', SCRIPT]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it("installs in the seed's priority order: Prometheus, Grafana, Loki + log shipper, Jaeger; then the dependencies and the ledger", () => {
    const { steps, releases } = plan([]);
    expect(steps.map((s) => s.replace(/ \(.*$/, ''))).toEqual([
      '1. Prometheus',
      '2. Grafana',
      '3. Loki',
      '4. Jaeger v2',
      '6. Redis, Postgres, Kafka for development',
      '7. The ledger',
      'done',
    ]);
    // Grafana is the same kube-prometheus-stack release, upgraded with grafana.yaml on top.
    expect(releases).toEqual(['kube-prometheus-stack', 'kube-prometheus-stack', 'loki', 'alloy', 'jaeger', 'ledger']);
    expect(steps[2]).toContain('Grafana Alloy');
  });

  it('installs Tempo and the eBPF profiler only when asked, after Jaeger', () => {
    const { steps, releases } = plan(['--with-tempo', '--with-profiler', '--no-deps', '--no-ledger']);
    expect(steps.map((s) => s.replace(/ \(.*$/, ''))).toEqual([
      '1. Prometheus',
      '2. Grafana',
      '3. Loki',
      '4. Jaeger v2',
      '5a. Tempo',
      '5b. eBPF profiler',
      'done',
    ]);
    expect(releases).toEqual([
      'kube-prometheus-stack',
      'kube-prometheus-stack',
      'loki',
      'alloy',
      'jaeger',
      'tempo',
      'pyroscope',
      'alloy-profiler',
    ]);
  });

  it('pins a chart version on every upstream chart, waits for each, and never prints a password', () => {
    const { commands } = plan(['--with-tempo', '--with-profiler']);
    const upstream = commands.filter((c) => c.startsWith('+ helm upgrade --install') && !c.includes('k8s/ledger'));
    expect(upstream.length).toBe(8);
    for (const command of upstream) {
      expect(command).toMatch(/ --repo https:\/\/\S+ --version \d+\.\d+\.\d+ /);
      expect(command).toContain('--wait');
    }
    expect(commands.join('\n')).not.toMatch(/password=|postgres:\/\/ledger:/);
    const stack = commands.find((c) => c.includes('helm upgrade --install ledger '))!;
    expect(stack).toContain('k8s/stack/values/ledger-dev.yaml');
  });

  it('ships logs with Grafana Alloy, not the end-of-life Promtail', () => {
    const script = readFileSync(SCRIPT, 'utf8');
    expect(script).not.toMatch(/helm\S* upgrade --install promtail/);
    expect(readFileSync(join(STACK, 'values/alloy.yaml'), 'utf8')).toContain('loki.source.file');
  });

  it('has values files that are valid YAML, each a single mapping', () => {
    for (const file of readdirSync(join(STACK, 'values'))) {
      const docs = parseAllDocuments(readFileSync(join(STACK, 'values', file), 'utf8'));
      expect(`${file}: ${docs.flatMap((d) => d.errors.map((e) => e.message)).join('; ')}`).toBe(`${file}: `);
      expect(docs).toHaveLength(1);
      const value = docs[0]!.toJS() as unknown;
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    }
  });

  it('applies development manifests and data sources that validate against the Kubernetes schemas', async () => {
    const files = [
      ...readdirSync(join(STACK, 'dev')).map((f) => join(STACK, 'dev', f)),
      ...readdirSync(join(STACK, 'optional')).map((f) => join(STACK, 'optional', f)),
    ];
    const problems: Record<string, unknown> = {};
    let count = 0;
    for (const file of files) {
      for (const object of readObjects(file)) {
        count++;
        const found = await schemaProblems(object);
        if (found.errors.length > 0 || found.unknownFields.length > 0) problems[nameOf(object)] = found;
      }
    }
    expect(count).toBe(8);
    expect(problems).toEqual({});
  });

  it('runs Redis with noeviction, as the ledger requires', () => {
    const [, deployment] = readObjects(join(STACK, 'dev/redis.yaml'));
    const args = (deployment!['spec'] as { template: { spec: { containers: { args: string[] }[] } } }).template.spec
      .containers[0]!.args;
    expect(args.join(' ')).toContain('--maxmemory-policy noeviction');
  });
});
