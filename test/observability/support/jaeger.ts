import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/ledger-app';
import { REPO } from './tools';

/** A span as Jaeger's query API (/api/traces) returns it. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/**
 * A private Jaeger v2 started with scripts/jaeger.sh on free loopback ports (its own state
 * directory, so it never touches a developer's instance).
 */
export class TestJaeger {
  private constructor(
    private readonly env: Record<string, string>,
    private readonly stateDir: string,
    readonly otlpGrpcEndpoint: string,
    readonly queryUrl: string,
  ) {}

  static async start(): Promise<TestJaeger> {
    const stateDir = mkdtempSync(join(tmpdir(), 'ledger-jaeger-'));
    const ports = {
      otlpGrpc: await freePort(),
      otlpHttp: await freePort(),
      query: await freePort(),
      queryGrpc: await freePort(),
      health: await freePort(),
      metrics: await freePort(),
    };
    const env = {
      LEDGER_STACK_DIR: stateDir,
      LEDGER_JAEGER_OTLP_GRPC_PORT: String(ports.otlpGrpc),
      LEDGER_JAEGER_OTLP_HTTP_PORT: String(ports.otlpHttp),
      LEDGER_JAEGER_QUERY_PORT: String(ports.query),
      LEDGER_JAEGER_QUERY_GRPC_PORT: String(ports.queryGrpc),
      LEDGER_JAEGER_HEALTH_PORT: String(ports.health),
      LEDGER_JAEGER_METRICS_PORT: String(ports.metrics),
    };
    const jaeger = new TestJaeger(
      env,
      stateDir,
      `http://127.0.0.1:${ports.otlpGrpc}`,
      `http://127.0.0.1:${ports.query}`,
    );
    jaeger.script('up');
    return jaeger;
  }

  /** Starts or stops it; never builds it (LEDGER_TOOLS_INSTALLED_ONLY: a missing binary fails at once). */
  private script(command: 'up' | 'down'): void {
    execFileSync('bash', [join(REPO, 'scripts/jaeger.sh'), command], {
      env: { ...process.env, ...this.env, LEDGER_TOOLS_INSTALLED_ONLY: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    });
  }

  /** The trace with this id, or undefined while Jaeger does not have it. */
  async trace(traceId: string): Promise<JaegerTrace | undefined> {
    const response = await fetch(`${this.queryUrl}/api/traces/${traceId}`);
    if (response.status === 404) return undefined;
    const body = (await response.json()) as { data?: JaegerTrace[] };
    return body.data?.[0];
  }

  /** Recent traces of a service that contain an operation. */
  async search(service: string, operation: string, limit = 100): Promise<JaegerTrace[]> {
    const query = new URLSearchParams({ service, operation, limit: String(limit), lookback: '1h' });
    const response = await fetch(`${this.queryUrl}/api/traces?${query.toString()}`);
    const body = (await response.json()) as { data?: JaegerTrace[] };
    return body.data ?? [];
  }

  async stop(): Promise<void> {
    this.script('down');
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}
