import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { freePort } from './ledger-app';

/**
 * A private redis-server (Debian's, on PATH after scripts/stack.sh) on a free loopback port, for
 * tests that stop and start Redis under a running service.
 */
export class PrivateRedis {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'ledger-redis-'));

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
    private readonly password: string | undefined,
  ) {}

  /** `extraArgs` go to redis-server (e.g. ['--requirepass', p]); pass `password` too so the readiness probe can AUTH. */
  static async start(extraArgs: readonly string[] = [], password?: string): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), extraArgs, password);
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** Starts (again) on the same port; waits until it answers PING (bounded: 10 s). */
  async resume(): Promise<void> {
    this.process = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    const probe = new Redis(this.port, '127.0.0.1', {
      password: this.password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          probe.disconnect();
          await sleep(100);
        }
      }
      throw new Error(`redis-server on ${this.port} did not answer within 10 s`);
    } finally {
      probe.disconnect();
    }
  }

  /** Kills the server (SIGKILL: like a crash, nothing flushed) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
