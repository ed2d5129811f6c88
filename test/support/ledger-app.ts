import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createLedgerApp, type LedgerApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { LedgerClient } from './ledger-client';

export interface RunningLedger {
  grpcAddress: string;
  httpUrl: string;
  client: LedgerClient;
  app: LedgerApp;
  close(): Promise<void>;
}

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Boots the real AppModule in this process on free ports, against the Redis of LEDGER_REDIS_URL
 * (the stack's, by default) unless overridden, and connects a real gRPC client to it.
 */
export async function startLedger(overrides: Record<string, string> = {}): Promise<RunningLedger> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const config = loadConfig({
    ...process.env,
    LEDGER_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    LEDGER_HTTP_PORT: String(httpPort),
    ...overrides,
  });
  const app = await createLedgerApp(config, process.env.LEDGER_TEST_LOGS ? undefined : false);
  const grpcAddress = `127.0.0.1:${grpcPort}`;
  const client = new LedgerClient(grpcAddress);
  return {
    grpcAddress,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    client,
    app,
    close: async () => {
      client.close();
      await app.close();
    },
  };
}

/** A unique id for one test's accounts, reservations and transactions. */
export function uid(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
