import { setTimeout as sleep } from 'node:timers/promises';
import { type IsolatedLedger, startIsolatedLedger } from '../support/isolated-ledger';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import { expectRejected, figures, LedgerDriver, money } from '../support/ledger-expect';

const SHED_AFTER_MS = 300;

/**
 * Durable mode when the event store falls behind (here: the only relay stops): once a call has
 * waited LEDGER_DURABLE_SHED_AFTER_MS for its events, new mutations are refused with
 * DEPENDENCY_UNAVAILABLE and change nothing, instead of being applied and then failing at the
 * durable-ack timeout (which is how an overloaded service stopped confirming anything). Once
 * the relay catches up, calls are taken again, and the refused one retried with its id is
 * applied once.
 */
describe('durable mode sheds mutations while the event store is behind', () => {
  let iso: IsolatedLedger;
  let relay: RunningLedger | undefined;
  let l: LedgerDriver;

  /** A second instance on the same Redis and database that runs the relay (the first runs none). */
  function startRelay(): Promise<RunningLedger> {
    return startLedger({
      LEDGER_REDIS_URL: iso.redis.url,
      LEDGER_DATABASE_URL: iso.db.url,
      LEDGER_KAFKA_TOPIC: iso.topic,
      LEDGER_EXTRA_ASSETS: 'BTC:8',
      LOG_LEVEL: 'silent',
      LEDGER_WORKERS: 'true',
    });
  }

  beforeAll(async () => {
    iso = await startIsolatedLedger({
      LEDGER_WORKERS: 'false',
      LEDGER_DURABLE_ACK_TIMEOUT_MS: '8000',
      LEDGER_DURABLE_SHED_AFTER_MS: String(SHED_AFTER_MS),
    });
    relay = await startRelay();
    l = new LedgerDriver(iso.ledger.client);
  }, 60_000);

  afterAll(async () => {
    await relay?.close();
    await iso?.close();
  });

  it('refuses new mutations once a call has waited past the limit, changing nothing; takes them again once caught up', async () => {
    const accountId = await l.funded('100.00');
    await relay!.close();
    relay = undefined;

    // Nobody stores events now: this deposit is applied in Redis and waits.
    const waiting = iso.ledger.client.call('Deposit', {
      transactionId: uid('dep'),
      accountId,
      amount: money('1.00'),
    });
    await sleep(SHED_AFTER_MS + 200);

    const reservationId = uid('res');
    const reserve = (): Promise<unknown> =>
      iso.ledger.client.call('Reserve', { reservationId, accountId, amount: money('30.00') });
    const refused = await expectRejected(reserve(), 'DEPENDENCY_UNAVAILABLE');
    expect(refused.message).toMatch(/behind in confirming calls.*LEDGER_DURABLE_SHED_AFTER_MS.*nothing was applied/);
    // Reads go through, and show the deposit that waits but no hold.
    expect(figures(await l.account(accountId))).toMatchObject({ balance: '101.00', held: '0.00' });

    relay = await startRelay();
    await expect(waiting).resolves.toMatchObject({ replayed: false });
    const applied = (await reserve()) as { replayed: boolean; account: Record<string, unknown> };
    expect(applied.replayed).toBe(false);
    expect(figures(applied.account as never)).toMatchObject({ balance: '101.00', held: '30.00' });
  }, 60_000);
});
