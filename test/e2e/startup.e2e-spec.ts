import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { buildService } from '../observability/support/built-service';
import { freePort, uid } from '../support/ledger-app';
import { decodeError, LedgerClient } from '../support/ledger-client';

/**
 * A service (re)starting under load: the first call its gRPC port accepts is already handled
 * (found by the fault suite: calls that reached a restarted service before its command and query
 * handlers were registered got INTERNAL "No handler found for the command").
 */
describe('service start-up', () => {
  beforeAll(() => buildService(), 180_000);

  it('answers the very first call it accepts with a real answer, never INTERNAL', async () => {
    const grpcAddress = `127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: join(__dirname, '../..'),
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        LEDGER_GRPC_ADDRESS: grpcAddress,
        LEDGER_HTTP_PORT: String(await freePort()),
        LEDGER_WORKERS: 'false',
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    const answers: string[] = [];
    let client: LedgerClient | undefined;
    try {
      const deadline = Date.now() + 30_000;
      // Probe from before the port opens: each failed attempt is "not listening yet" (UNAVAILABLE).
      // A new channel per attempt: a refused channel would wait out its reconnect backoff (1 s).
      while (Date.now() < deadline) {
        if (answers.length === 0) {
          client?.close();
          client = new LedgerClient(grpcAddress);
        }
        try {
          await (client as LedgerClient).call('GetAccount', { accountId: uid('nobody') }, undefined, 1000);
          answers.push('OK');
        } catch (error) {
          const e = decodeError(error);
          if (e.code === status.UNAVAILABLE && e.reason === undefined) {
            await sleep(2);
            continue;
          }
          answers.push(`${status[e.code]} ${e.reason ?? e.message}`);
        }
        if (answers.length >= 5) break;
      }
    } finally {
      client?.close();
      child.kill('SIGKILL');
    }
    expect(answers).toEqual(Array.from({ length: 5 }, () => 'NOT_FOUND ACCOUNT_NOT_FOUND'));
  }, 60_000);
});
