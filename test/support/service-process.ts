import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ledger-app';

const REPO = join(__dirname, '../..');

/**
 * The built service (`node dist/src/main.js`) as a child process on fixed ports, so that it can
 * be SIGKILLed and started again where its clients expect it. Every stdout line of every run is
 * kept (each must be a pino JSON line). An exit nobody asked for is a crash when the service
 * exited by itself; killed by a signal from outside (on a shared machine a stray kill of a
 * recycled pid happens), it is started again, as Kubernetes would, and counted.
 */
export class ServiceProcess {
  readonly lines: string[] = [];
  readonly crashes: string[] = [];
  readonly killedFromOutside: string[] = [];
  /** stderr of every run (bounded: the last 100 kB) */
  stderr = '';
  starts = 0;
  private child: ChildProcess | undefined;
  private stderrTail = '';

  private constructor(
    private readonly env: Record<string, string>,
    readonly grpcAddress: string,
    readonly httpUrl: string,
  ) {}

  /** A service on two free loopback ports (kept across restarts), with `env` on top of this process's. */
  static async onFreePorts(env: Record<string, string>): Promise<ServiceProcess> {
    const grpcAddress = `127.0.0.1:${await freePort()}`;
    const httpPort = await freePort();
    return new ServiceProcess(
      { ...env, LEDGER_GRPC_ADDRESS: grpcAddress, LEDGER_HTTP_PORT: String(httpPort) },
      grpcAddress,
      `http://127.0.0.1:${httpPort}`,
    );
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts it and waits (bounded) until /health/live answers; readiness may wait for a dependency. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--enable-source-maps', 'dist/src/main.js'], {
      cwd: REPO,
      env: { ...process.env, NODE_OPTIONS: '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    this.stderrTail = '';
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.trim() !== '') this.lines.push(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-5000);
      this.stderr = (this.stderr + chunk.toString()).slice(-100_000);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (signal === null) {
        this.crashes.push(`exited with code ${code} unasked; stderr: ${this.stderrTail}`);
        return;
      }
      this.killedFromOutside.push(`${new Date().toISOString()} ${signal}`);
      this.start().catch((error: unknown) => this.crashes.push(`restart after ${signal} failed: ${String(error)}`));
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.child !== child) throw new Error(`the service exited during start: ${this.crashes.at(-1)}`);
      try {
        if ((await fetch(`${this.httpUrl}/health/live`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the service did not come up within 30 s: ${this.stderrTail}`);
      await sleep(100);
    }
  }

  /** Waits (bounded) until /health/ready answers 200; false if it did not. */
  async ready(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${this.httpUrl}/health/ready`)).ok) return true;
      } catch {
        // restarting
      }
      await sleep(100);
    }
    return false;
  }

  /** SIGKILL, like a crash of the pod: nothing is flushed. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after 15 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.end('SIGTERM');
    clearTimeout(timer);
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}
