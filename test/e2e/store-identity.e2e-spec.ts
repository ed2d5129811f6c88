import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { type IsolatedLedger, pollUntil, startIsolatedLedger } from '../support/isolated-ledger';
import { startLedger, uid } from '../support/ledger-app';
import { expectRejected, money } from '../support/ledger-expect';
import { TestDatabase } from '../support/pg';

const IDENTITY_KEY = 'ledger:{relay}:store-id';

/**
 * A Redis holds the state derived from one event store. A service pointed at the Redis of one
 * deployment and the database of another must not start, and a relay must never store a Redis's
 * events in an event store the Redis is not bound to (they would land in the wrong ledger).
 */
describe('event store identity: one Redis, one event store', () => {
  let iso: IsolatedLedger;
  let storeId: string;

  beforeAll(async () => {
    iso = await startIsolatedLedger({ LEDGER_DURABLE_ACK_TIMEOUT_MS: '1500', LEDGER_RETRY_BACKOFF_MAX_MS: '200' });
    const rows = await iso.db.query<{ store_id: string }>('SELECT store_id FROM ledger_store_identity');
    storeId = rows[0]!.store_id;
    // A durable call is answered once the relay stored its event: by then the Redis is bound.
    const accountId = uid('id');
    await iso.ledger.client.call('OpenAccount', { accountId, currency: 'USD' });
  }, 60_000);

  afterAll(async () => {
    await iso?.close();
  });

  it('binds the Redis to the event store the relay stores into', async () => {
    expect(storeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await iso.direct.get(IDENTITY_KEY)).toBe(storeId);
  });

  it('refuses to start a service whose database is another event store than its Redis holds', async () => {
    const other = await TestDatabase.create();
    try {
      const start = startLedger({
        LEDGER_REDIS_URL: iso.redis.url,
        LEDGER_DATABASE_URL: other.url,
        LEDGER_KAFKA_TOPIC: iso.topic,
        LOG_LEVEL: 'silent',
      });
      await expect(start).rejects.toThrow(
        /LEDGER_DATABASE_URL is event store [0-9a-f-]{36}, but the Redis of LEDGER_REDIS_URL holds the state of event store/,
      );
      expect(await iso.direct.get(IDENTITY_KEY)).toBe(storeId);
      expect(await other.query('SELECT 1 FROM ledger_events')).toEqual([]);
    } finally {
      await other.drop();
    }
  }, 60_000);

  it('stops relaying while the Redis is bound to another store, and resumes once it is ours again', async () => {
    const accountId = uid('id');
    await iso.ledger.client.call('OpenAccount', { accountId, currency: 'USD' });
    await iso.direct.set(IDENTITY_KEY, randomUUID());
    // Let a relay round that was already reading finish before the call below.
    await sleep(600);
    const transactionId = uid('dep');
    const deposit = { transactionId, accountId, amount: money('10.00') };
    await expectRejected(iso.ledger.client.call('Deposit', deposit), 'DEPENDENCY_UNAVAILABLE');
    await sleep(500);
    const stored = (): Promise<unknown[]> =>
      iso.db.query(`SELECT 1 FROM ledger_events WHERE account_id = $1 AND type = 'FUNDS_DEPOSITED'`, [accountId]);
    expect(await stored()).toEqual([]);

    await iso.direct.set(IDENTITY_KEY, storeId);
    await pollUntil('the deposit stored once the binding is ours', async () =>
      (await stored()).length === 1 ? true : undefined,
    );
    const replay = (await iso.ledger.client.call('Deposit', deposit)) as { replayed: boolean };
    expect(replay.replayed).toBe(true);
    expect(await stored()).toHaveLength(1);
  }, 60_000);
});
