import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ledger-app';
import { stack } from '../support/stack';

/**
 * scripts/stack.sh restarts a Postgres that was SIGKILLed (the fault suite does it under load).
 * A killed postmaster that its parent has not reaped yet is a zombie: its pid still answers
 * kill(pid, 0), so Postgres takes the socket lock file it left for a live server's and refuses
 * to start ("lock file .s.PGSQL.<port>.lock already exists"). That failed a fault-suite run. The
 * script now removes the lock file when no server of ours runs and the port is free. Here the
 * zombie is played by a live process of the server's user whose pid is written into the lock file.
 */
const WAIT_MS = 60_000;

describe('stack.sh: Postgres restarts after a SIGKILL whatever pid its socket lock file names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-pg-'));
  let env: NodeJS.ProcessEnv = {};
  let port = 0;
  let standIn: ChildProcess | undefined;

  beforeAll(async () => {
    port = await freePort();
    env = { ...process.env, LEDGER_STACK_DIR: dir, LEDGER_PG_PORT: String(port) };
    const up = await stack('up', ['postgres'], WAIT_MS, env);
    expect(up).toMatchObject({ code: 0 });
  }, 90_000);

  /** Where stack.sh keeps this Postgres: <state>/pg, or elsewhere when the postgres user cannot reach it. */
  const postgresBase = (): string => {
    try {
      return readFileSync(join(dir, 'pg.location'), 'utf8').trim();
    } catch {
      return join(dir, 'pg');
    }
  };

  afterAll(async () => {
    standIn?.kill('SIGKILL');
    await stack('down', ['postgres'], WAIT_MS, env);
    const base = postgresBase();
    if (base.startsWith('/var/tmp/ledger-pg-')) rmSync(base, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  it('comes back up when the lock file names a live process of the server user (a zombie postmaster)', async () => {
    const killed = await stack('kill', ['postgres'], WAIT_MS, env);
    expect(killed.code).toBe(0);
    // The server runs as postgres when we are root (see as_pg in stack.sh), else as us.
    standIn =
      process.getuid?.() === 0
        ? spawn('runuser', ['-u', 'postgres', '--', 'sleep', '120'], { stdio: 'ignore' })
        : spawn('sleep', ['120'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ps = await new Promise<string>((resolve) => {
      const child = spawn('pgrep', ['-n', '-f', '^sleep 120$'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.once('close', () => resolve(out.trim()));
    });
    expect(ps).toMatch(/^\d+$/);
    const lockFile = join(postgresBase(), 'run', `.s.PGSQL.${port}.lock`);
    const lines = readFileSync(lockFile, 'utf8').split('\n');
    lines[0] = ps;
    writeFileSync(lockFile, lines.join('\n'));

    const up = await stack('up', ['postgres'], WAIT_MS, env);
    expect(up).toMatchObject({ code: 0 });
    expect(up.output).toContain('removing stale socket lock file');
  }, 90_000);
});
