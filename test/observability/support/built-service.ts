import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { freePort } from '../../support/ledger-app';
import { LedgerClient } from '../../support/ledger-client';
import { REPO, waitFor } from './tools';

/** `nest build` (incremental) so that dist/ holds the code under test. */
export function buildService(): void {
  execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 180_000,
  });
}

/**
 * The service as production runs it: `node --require ./dist/src/instrumentation.js dist/src/main.js`
 * (the OTel SDK preloaded before Nest), on free loopback ports, with its stdout (JSON log lines)
 * collected.
 */
export class BuiltService {
  readonly lines: string[] = [];
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly grpcAddress: string,
    readonly httpUrl: string,
    readonly client: LedgerClient,
  ) {
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim() !== '') this.lines.push(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });
  }

  static async start(env: Record<string, string>): Promise<BuiltService> {
    const grpcPort = await freePort();
    const httpPort = await freePort();
    const child = spawn(
      process.execPath,
      ['--enable-source-maps', '--require', './dist/src/instrumentation.js', 'dist/src/main.js'],
      {
        cwd: REPO,
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          LEDGER_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
          LEDGER_HTTP_PORT: String(httpPort),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const grpcAddress = `127.0.0.1:${grpcPort}`;
    const service = new BuiltService(child, grpcAddress, `http://127.0.0.1:${httpPort}`, new LedgerClient(grpcAddress));
    try {
      await waitFor(
        'service ready',
        async () => {
          if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}`);
          return (await fetch(`${service.httpUrl}/health/ready`)).ok ? true : undefined;
        },
        30_000,
        200,
      );
    } catch (error) {
      await service.stop();
      throw new Error(`${String(error)}\nstderr:\n${service.stderr}\nstdout:\n${service.lines.join('\n')}`, {
        cause: error,
      });
    }
    return service;
  }

  get errors(): string {
    return this.stderr;
  }

  /** The JSON log lines written so far (every stdout line must be one). */
  json(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** SIGKILL: the process dies at once, mid-whatever (nothing flushed, no lock let go). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGKILL');
      await exited;
    }
    this.client.close();
  }

  /**
   * SIGTERM, as Kubernetes stops it: Nest closes the app (queued spans are flushed) and re-raises
   * the signal. Returns how it ended: "SIGTERM" (or exit code 0) when it stopped by itself,
   * "SIGKILL" when it had to be killed after 15 s.
   */
  async stop(): Promise<string> {
    this.client.close();
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return String(this.child.signalCode ?? this.child.exitCode);
    }
    const exited = new Promise<string>((resolve) =>
      this.child.once('exit', (code, signal) => resolve(String(signal ?? code))),
    );
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const how = await exited;
    clearTimeout(timer);
    return how;
  }
}
