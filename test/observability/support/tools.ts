import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO = join(__dirname, '../../..');

/**
 * Path of an installed tool. Never builds: `npm test` installs every tool before Jest starts, and a
 * hook that built one would spend minutes of its timeout on a first run; a missing tool fails at
 * once with scripts/tools.sh's message naming the command that installs it.
 */
export function toolPath(tool: 'prometheus' | 'promtool' | 'jaeger' | 'ghz' | 'helm' | 'shellcheck'): string {
  const out = execFileSync('bash', [join(REPO, 'scripts/tools.sh'), tool], {
    encoding: 'utf8',
    env: { ...process.env, LEDGER_TOOLS_INSTALLED_ONLY: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 30_000,
  });
  const bin = out.trim().split('\n').pop();
  if (!bin) throw new Error(`scripts/tools.sh ${tool} printed no directory`);
  return join(bin, tool);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
