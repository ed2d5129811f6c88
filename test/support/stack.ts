import { spawn } from 'node:child_process';
import { join } from 'node:path';

export type StackService = 'redis' | 'postgres' | 'kafka';

const SCRIPT = join(__dirname, '../../scripts/stack.sh');

/**
 * Runs `scripts/stack.sh <command> <services...>` (bounded: killed after `timeoutMs`); resolves
 * with its exit code and output. `up` waits for real readiness; `down` stops what the script
 * started; `kill` SIGKILLs it (a crash). Only the outage and fault suites stop services: they are
 * shared by everyone's tests. `env` replaces the environment, e.g. for a private stack of one's own
 * (LEDGER_STACK_DIR and ports).
 */
export function stack(
  command: 'up' | 'down' | 'status' | 'kill',
  services: StackService[],
  timeoutMs = 120_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, command, ...services], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

/** `stack.sh up/down/kill`, failing loudly with the script's output if it does not succeed. */
export async function stackMust(command: 'up' | 'down' | 'kill', services: StackService[]): Promise<void> {
  const { code, output } = await stack(command, services);
  if (code !== 0) throw new Error(`stack.sh ${command} ${services.join(' ')} exited ${code}: ${output.slice(-2000)}`);
}
