import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import { expectFailure } from '../support/ledger-client';
import { LedgerDriver, money } from '../support/ledger-expect';
import { PrivateRedis } from '../support/redis-server';

/**
 * A caller that gives up (its deadline passes) while its call still runs is counted as it saw
 * it: grpc_server_handled_total{grpc_code="DeadlineExceeded"} (the Go spelling of the code), not OK (Nest lets the handler
 * finish, so the count used to say OK). Redis is made slow on purpose (DEBUG SLEEP).
 */
describe('caller deadlines', () => {
  let redis: PrivateRedis;
  let direct: Redis;
  let ledger: RunningLedger;

  beforeAll(async () => {
    redis = await PrivateRedis.start(['--enable-debug-command', 'yes']);
    direct = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    ledger = await startLedger({
      LEDGER_REDIS_URL: redis.url,
      LEDGER_ACK_MODE: 'fast',
      LEDGER_WORKERS: 'false',
      LEDGER_REDIS_COMMAND_TIMEOUT_MS: '5000',
    });
  });

  afterAll(async () => {
    await ledger?.close();
    direct?.disconnect();
    await redis?.stop();
  });

  async function handled(method: string, code: string): Promise<number> {
    const text = await (await fetch(`${ledger.httpUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('grpc_server_handled_total{') &&
          l.includes(`grpc_method="${method}"`) &&
          l.includes(`grpc_code="${code}"`),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  }

  /** calls of `method` counted under any code */
  async function handledAll(method: string): Promise<number> {
    const text = await (await fetch(`${ledger.httpUrl}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('grpc_server_handled_total{') && l.includes(`grpc_method="${method}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  it('counts a call whose deadline passed while it ran as DEADLINE_EXCEEDED', async () => {
    const l = new LedgerDriver(ledger.client);
    const accountId = await l.funded('10.00');
    const before = {
      exceeded: await handled('Deposit', 'DeadlineExceeded'),
      ok: await handled('Deposit', 'OK'),
      all: await handledAll('Deposit'),
    };
    const slow = direct.call('DEBUG', 'SLEEP', '1');
    const error = await expectFailure(
      ledger.client.call('Deposit', { transactionId: uid('dep'), accountId, amount: money('1.00') }, undefined, 200),
    );
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    await slow;
    // The handler finishes once Redis answers, and is counted then: wait (bounded) until the call
    // is counted under any code, then check which.
    const counted = async (): Promise<{ exceeded: number; ok: number; all: number }> => {
      const exceeded = (await handled('Deposit', 'DeadlineExceeded')) - before.exceeded;
      const ok = (await handled('Deposit', 'OK')) - before.ok;
      return { exceeded, ok, all: (await handledAll('Deposit')) - before.all };
    };
    const until = Date.now() + 10_000;
    let seen = await counted();
    while (seen.all === 0 && Date.now() < until) {
      await sleep(50);
      seen = await counted();
    }
    expect(seen).toEqual({ exceeded: 1, ok: 0, all: 1 });
  }, 20_000);
});
