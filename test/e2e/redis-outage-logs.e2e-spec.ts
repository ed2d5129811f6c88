import { setTimeout as sleep } from 'node:timers/promises';
import { buildService } from '../observability/support/built-service';
import { uid } from '../support/ledger-app';
import { LedgerClient } from '../support/ledger-client';
import { PrivateRedis } from '../support/redis-server';
import { ServiceProcess } from '../support/service-process';

/**
 * What the built service writes while its Redis is down for a few seconds: only pino JSON lines
 * (found from the outside: ioredis printed "[ioredis] Unhandled error event: ... ECONNREFUSED"
 * about ten times per outage for a connection without an error listener), and each state change
 * once: the connection lost and back, the expiry sweeper failing and working again (it used to
 * warn on every 250 ms tick).
 */
describe('logs during a Redis outage', () => {
  let redis: PrivateRedis;
  let service: ServiceProcess;
  let client: LedgerClient;

  beforeAll(async () => {
    buildService();
    redis = await PrivateRedis.start();
    service = await ServiceProcess.onFreePorts({
      LEDGER_REDIS_URL: redis.url,
      LEDGER_ACK_MODE: 'fast',
      LEDGER_WORKERS: 'false',
      LOG_LEVEL: 'info',
      OTEL_SDK_DISABLED: 'true',
    });
    await service.start();
    if (!(await service.ready(30_000))) throw new Error(`not ready: ${service.stderr}`);
    client = new LedgerClient(service.grpcAddress);
  }, 240_000);

  afterAll(async () => {
    client?.close();
    await service?.stop();
    await redis?.stop();
  });

  it('writes only JSON lines, and each change of state once', async () => {
    await client.call('OpenAccount', { accountId: uid('logs'), currency: 'USD' });
    const before = service.lines.length;
    await redis.kill();
    await sleep(3000); // a dozen sweeper ticks and reconnect attempts
    await redis.resume();
    expect(await service.ready(15_000)).toBe(true);
    await client.call('OpenAccount', { accountId: uid('logs'), currency: 'USD' });
    await sleep(1000); // a few sweeps after the recovery
    await service.stop();

    expect(service.stderr).not.toContain('[ioredis]');
    const notJson = service.lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const during = service.lines.slice(before).map((l) => JSON.parse(l) as { level: string; msg: string });
    const count = (pattern: RegExp): string[] => during.filter((l) => pattern.test(l.msg)).map((l) => l.level);
    expect({
      lost: count(/^redis connection lost/),
      back: count(/^redis connection back/),
      sweepsFailing: count(/^expiry sweeps failing/),
      sweepsBack: count(/^expiry sweeps work again/),
    }).toEqual({ lost: ['warn'], back: ['info'], sweepsFailing: ['warn'], sweepsBack: ['info'] });
  }, 60_000);
});
