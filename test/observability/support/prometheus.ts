import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/ledger-app';
import { toolPath, waitFor } from './tools';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A real Prometheus (Debian's package, via scripts/tools.sh) on a free loopback port, scraping
 * the given targets every second, with its TSDB in a temporary directory.
 */
export class TestPrometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly log: () => string,
  ) {}

  static async start(targets: string[]): Promise<TestPrometheus> {
    const binary = toolPath('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'ledger-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 900ms',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: ledger',
        '    static_configs:',
        `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const child = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
    });
    const url = `http://127.0.0.1:${port}`;
    const prometheus = new TestPrometheus(child, dir, url, () => log);
    try {
      await waitFor('prometheus ready', async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined));
    } catch (error) {
      await prometheus.stop();
      throw new Error(`${String(error)}\n${log}`, { cause: error });
    }
    return prometheus;
  }

  /** Evaluation time of the queries (unix seconds); undefined: now. */
  at: number | undefined;

  /** An instant query (at `at`); throws on an API error. */
  async query(expr: string): Promise<PromSample[]> {
    const time = this.at === undefined ? '' : `&time=${this.at}`;
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}${time}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success' || !body.data) throw new Error(`query ${expr}: ${body.error ?? response.status}`);
    return body.data.result;
  }

  /** Health of the scrape targets as Prometheus sees them. */
  async targets(): Promise<{ health: string; lastError: string; scrapeUrl: string; lastScrape: string }[]> {
    const response = await fetch(`${this.url}/api/v1/targets`);
    const body = (await response.json()) as {
      data: { activeTargets: { health: string; lastError: string; scrapeUrl: string; lastScrape: string }[] };
    };
    return body.data.activeTargets;
  }

  /**
   * Waits for a successful scrape that started after `afterMs` and pins the queries to just after
   * it: a failed scrape marks every series of the target stale, so "now" could see none.
   */
  async pinToGoodScrape(afterMs: number, timeoutMs = 30_000): Promise<void> {
    const scrapedAt = await waitFor(
      'a successful scrape',
      async () => {
        const [target] = await this.targets();
        const at = target ? Date.parse(target.lastScrape) : NaN;
        return target?.health === 'up' && target.lastError === '' && at > afterMs ? at : undefined;
      },
      timeoutMs,
      200,
    );
    this.at = (scrapedAt + 200) / 1000;
  }

  get output(): string {
    return this.log();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
