import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildService } from '../observability/support/built-service';
import { PrivateRedis } from '../support/redis-server';
import { ServiceProcess } from '../support/service-process';

const REDIS_PASSWORD = 'redis-S3CRET-7f3a';
const WRONG_PG_PASSWORD = 'pg-S3CRET-wrong-91c2';

/**
 * Credentials reach the service in its URLs (Redis ACL user and password, Postgres password);
 * none of them is ever written to its output: not at start, not at debug level, not when a
 * password is refused, not in a configuration error.
 */
describe('secrets are never logged', () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    buildService();
    redis = await PrivateRedis.start(['--requirepass', REDIS_PASSWORD], REDIS_PASSWORD);
  }, 240_000);

  afterAll(async () => {
    await redis?.stop();
  });

  async function run(env: Record<string, string>, work: (service: ServiceProcess) => Promise<void>): Promise<string> {
    const service = await ServiceProcess.onFreePorts({
      LEDGER_ACK_MODE: 'fast',
      LEDGER_WORKERS: 'false',
      LOG_LEVEL: 'debug',
      OTEL_SDK_DISABLED: 'true',
      ...env,
    });
    await service.start();
    try {
      await work(service);
    } finally {
      await service.stop();
    }
    return `${service.lines.join('\n')}\n${service.stderr}`;
  }

  it('with a Redis password that works and a Postgres password that is refused', async () => {
    const pg = new URL(process.env['LEDGER_DATABASE_URL'] ?? 'postgres://ledger:ledger@127.0.0.1:5432/ledger_test');
    pg.password = WRONG_PG_PASSWORD;
    const output = await run(
      {
        LEDGER_REDIS_URL: `redis://default:${REDIS_PASSWORD}@127.0.0.1:${redis.port}/0`,
        LEDGER_DATABASE_URL: pg.toString(),
      },
      async (service) => {
        expect(await service.ready(20_000)).toBe(true);
        await sleep(2500); // a few rounds of Postgres refusing the password
      },
    );
    expect(output).toContain('password authentication failed'); // the refusal itself is reported...
    expect(output).not.toContain('S3CRET'); // ...without either password
  }, 60_000);

  it('with a Redis password that is refused', async () => {
    const output = await run(
      { LEDGER_REDIS_URL: `redis://default:${REDIS_PASSWORD}-typo@127.0.0.1:${redis.port}/0` },
      async (service) => {
        expect(await service.ready(3000)).toBe(false);
      },
    );
    expect(output).toMatch(/WRONGPASS|invalid username-password/);
    expect(output).not.toContain('S3CRET');
  }, 60_000);

  it('in a configuration error', () => {
    const result = spawnSync(process.execPath, ['dist/src/main.js'], {
      cwd: join(__dirname, '../..'),
      env: { ...process.env, NODE_OPTIONS: '', LEDGER_REDIS_URL: `http://user:${REDIS_PASSWORD}@127.0.0.1:1/0` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('LEDGER_REDIS_URL');
    expect(`${result.stdout}${result.stderr}`).not.toContain('S3CRET');
  });
});
