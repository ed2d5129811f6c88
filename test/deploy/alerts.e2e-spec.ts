import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO, toolPath } from '../observability/support/tools';

const RULES = join(REPO, 'k8s/ledger/files/prometheus-rules.yaml');
const RULE_TESTS = join(REPO, 'k8s/tests/alerts.test.yaml');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTests {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
  }[];
}

function promtool(args: string[]): { status: number; output: string } {
  const result = spawnSync(toolPath('promtool'), args, { encoding: 'utf8', cwd: REPO, timeout: 60_000 });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);

describe('alert rules (k8s/ledger/files/prometheus-rules.yaml) with the real promtool', () => {
  it('pass promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', RULES]);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(status).toBe(0);
  });

  it('pass their unit tests (promtool test rules k8s/tests/alerts.test.yaml)', () => {
    const { status, output } = promtool(['test', 'rules', RULE_TESTS]);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('are the alerts the issue asks for', () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      'LedgerHighP99Latency',
      'LedgerServerErrorRatio',
      'LedgerRedisEvalshaSlow',
      'LedgerLuaScriptFailures',
      'LedgerPostgresPoolWaiting',
      'LedgerOutboxNotStored',
      'LedgerKafkaPublishLag',
      'LedgerEventLoopLag',
      'LedgerPodRestarts',
      'LedgerTargetDown',
    ]);
  });

  describe.each(alerts.map((a) => [a.alert, a] as const))('%s', (name, alert) => {
    const tests = (parse(readFileSync(RULE_TESTS, 'utf8')) as RuleTests).tests.flatMap((t) =>
      (t.alert_rule_test ?? []).filter((c) => c.alertname === name).map((c) => ({ test: t.name, ...c })),
    );

    it('has a severity, a summary and a description', () => {
      expect(['warning', 'critical']).toContain(alert.labels?.['severity']);
      expect(alert.annotations?.['summary']).toEqual(expect.any(String));
      expect(alert.annotations?.['description']).toEqual(expect.any(String));
    });

    it('has a unit test where it fires and one where it stays quiet', () => {
      expect(tests.filter((c) => c.exp_alerts.length > 0).length).toBeGreaterThan(0);
      expect(tests.filter((c) => c.exp_alerts.length === 0).length).toBeGreaterThan(0);
    });

    it('has a runbook line in the README (the anchor runbook_url points at)', () => {
      const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
      const line = readme.split('\n').find((l) => l.includes(`<a id="alert-${name.toLowerCase()}"></a>`));
      expect(line).toBeDefined();
      expect(line).toContain(name);
    });

    it('selects the ledger only (job="ledger" or its container), never every gRPC or Node service', () => {
      expect(alert.expr).toMatch(/job="ledger"|container="ledger"/);
      if (alert.expr.includes('grpc_server_')) expect(alert.expr).toContain('grpc_service="ledger.v1.LedgerService"');
    });
  });

  it("counts server errors with Go's grpc_code spelling, the one the service exports", () => {
    const ratio = alerts.find((a) => a.alert === 'LedgerServerErrorRatio')!;
    expect(ratio.expr).toContain('grpc_code=~"Unknown|Internal|Unavailable|DataLoss|DeadlineExceeded"');
  });
});
