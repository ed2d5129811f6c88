import { createServer, type Server, type Socket, connect } from 'node:net';
import { HealthClient, readiness } from '../support/health-client';
import { freePort, type RunningLedger, startLedger } from '../support/ledger-app';
import { pollUntil } from '../support/isolated-ledger';

/** A TCP proxy in front of Postgres that the test can cut (every connection dropped, none accepted) and restore. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  static async start(target: number): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(await freePort(), target);
    await proxy.restore();
    return proxy;
  }

  restore(): Promise<void> {
    if (this.server) return Promise.resolve();
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Readiness covers what the ack mode needs: in durable mode Postgres (with it down every write
 * would time out, yet the service used to say SERVING), in fast mode Redis only. HTTP
 * /health/ready and grpc.health.v1 agree.
 */
describe('readiness', () => {
  let proxy: CuttableProxy;

  beforeAll(async () => {
    const url = new URL(process.env['LEDGER_DATABASE_URL'] ?? 'postgres://ledger:ledger@127.0.0.1:5432/ledger_test');
    proxy = await CuttableProxy.start(Number(url.port || 5432));
  });

  afterAll(async () => {
    await proxy?.cut();
  });

  async function start(ackMode: 'durable' | 'fast'): Promise<{ ledger: RunningLedger; health: HealthClient }> {
    const url = new URL(process.env['LEDGER_DATABASE_URL'] ?? 'postgres://ledger:ledger@127.0.0.1:5432/ledger_test');
    url.port = String(proxy.port);
    const ledger = await startLedger({
      LEDGER_DATABASE_URL: url.toString(),
      LEDGER_ACK_MODE: ackMode,
      LEDGER_WORKERS: 'false',
      LEDGER_PG_CONNECT_TIMEOUT_MS: '500',
      LOG_LEVEL: 'silent',
    });
    return { ledger, health: new HealthClient(ledger.grpcAddress) };
  }

  const state = async (ledger: RunningLedger, health: HealthClient): Promise<string> =>
    `${(await readiness(ledger.httpUrl)).code} ${await health.check()}`;

  it('durable: not ready while Postgres does not answer, ready again when it does', async () => {
    const { ledger, health } = await start('durable');
    try {
      await pollUntil(
        'ready',
        async () => ((await state(ledger, health)) === '200 SERVING' ? true : undefined),
        10_000,
      );
      await proxy.cut();
      await pollUntil(
        'not ready with Postgres cut',
        async () => ((await state(ledger, health)) === '503 NOT_SERVING' ? true : undefined),
        10_000,
      );
      expect((await readiness(ledger.httpUrl)).body).toEqual({
        status: 'not ready',
        redis: 'ready',
        postgres: 'down',
        draining: false,
      });
      await proxy.restore();
      await pollUntil(
        'ready again',
        async () => ((await state(ledger, health)) === '200 SERVING' ? true : undefined),
        15_000,
      );
    } finally {
      await proxy.restore().catch(() => undefined);
      health.close();
      await ledger.close();
    }
  }, 60_000);

  it('fast: Postgres down does not make it unready (answers do not wait for it)', async () => {
    await proxy.cut();
    const { ledger, health } = await start('fast');
    try {
      await pollUntil(
        'ready',
        async () => ((await state(ledger, health)) === '200 SERVING' ? true : undefined),
        10_000,
      );
      expect((await readiness(ledger.httpUrl)).body).toEqual({
        status: 'ready',
        redis: 'ready',
        postgres: 'not needed',
        draining: false,
      });
    } finally {
      health.close();
      await ledger.close();
      await proxy.restore();
    }
  }, 60_000);
});
