import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { startNodeSdk } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import {
  expectedProtoOfRow,
  expectKafkaMatchesStore,
  expectRedisMatchesStore,
  expectReservationsMatchStore,
  storeState,
  type StoreState,
} from '../support/event-store-checks';
import { drained, type IsolatedLedger, pollUntil, startIsolatedLedger } from '../support/isolated-ledger';
import { uid } from '../support/ledger-app';
import type { Reply } from '../support/ledger-client';
import { money } from '../support/ledger-expect';
import type { StoredEvent } from '../support/pg';

/**
 * Issue 3, test 1: every mutating RPC's events land in Postgres exactly once (one row per
 * event_id, versions 1..n gapless per account, exactly the hand-computed rows and nothing else,
 * replays adding nothing) and on Kafka at least once (read back with kcat: key = account_id,
 * headers event-id / event-type / traceparent, per-account order, every value an AccountEvent
 * equal to its stored row, amounts as decimals of the currency's scale).
 *
 * The real OTel SDK runs in this process (exporting to memory) so that the traceparent the
 * client sends is continued and stored with each event; the Kafka header must carry it.
 */
describe('event store: every RPC lands in Postgres exactly once and on Kafka at least once', () => {
  let iso: IsolatedLedger;

  beforeAll(async () => {
    startNodeSdk({
      spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
      metricReaders: [],
      logRecordProcessors: [],
      instrumentations: [],
      resourceDetectors: [],
      logLevel: 'warn',
    });
    iso = await startIsolatedLedger();
  });
  afterAll(async () => {
    await iso?.close();
  });

  /** trace id -> the call it was sent with, to match stored traceparents to calls */
  const traces = new Map<string, string>();

  function call(method: string, request: object): Promise<Reply> {
    const traceId = randomBytes(16).toString('hex');
    traces.set(traceId, method);
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
    return iso.ledger.client.call(method, request, metadata);
  }

  const A = uid('es-a');
  const B = uid('es-b');
  const JPY = uid('es-jpy');
  const BTC = uid('es-btc');
  const BHD = uid('es-bhd');
  const ids = {
    dep: uid('dep'),
    wd: uid('wd'),
    tr: uid('tr'),
    r1: uid('r1'),
    a1: uid('a1'),
    c1: uid('c1'),
    c2: uid('c2'),
    r2: uid('r2'),
    r3: uid('r3'),
    wd2: uid('wd2'),
    jpy: uid('dep'),
    btc: uid('dep'),
    bhd: uid('dep'),
  };
  /** the replies, for the replay checks */
  const replies = new Map<string, Reply>();

  /** A hand-computed stored event: every field of the AccountEvent but event_id and the timestamps. */
  interface Row {
    version: string;
    type: string;
    amount: string;
    balanceAfter: string;
    heldAfter: string;
    referenceId?: string;
    reservationId?: string;
    counterpartyAccountId?: string;
    metadata?: Record<string, string>;
    orderId?: string;
    final?: boolean;
    reason?: string;
    overdraftLimit?: string;
  }

  function row(r: Row): Record<string, unknown> {
    return {
      referenceId: '',
      reservationId: '',
      counterpartyAccountId: '',
      metadata: {},
      orderId: '',
      final: false,
      reason: '',
      overdraftLimit: '',
      ...r,
    };
  }

  /** A stored row in the shape of `row` (what expectedProtoOfRow derives, minus ids and times). */
  function handView(stored: StoredEvent): Record<string, unknown> {
    const {
      eventId: _e,
      accountId: _a,
      occurredAtMs: _o,
      expiresAtMs: _x,
      type,
      currency: _c,
      ...rest
    } = expectedProtoOfRow(stored);
    return { ...rest, type: String(type).replace('EVENT_TYPE_', '') };
  }

  it('runs every mutating RPC once (replies as computed by hand)', async () => {
    let r = await call('OpenAccount', {
      accountId: A,
      currency: 'USD',
      overdraftLimit: '50.00',
      metadata: { desk: 'eq' },
    });
    expect(r.account).toMatchObject({ version: '1', balance: '0.00', overdraftLimit: '50.00' });
    replies.set('openA', r);
    r = await call('OpenAccount', { accountId: B, currency: 'USD' });
    expect(r.account.version).toBe('1');
    r = await call('Deposit', {
      transactionId: ids.dep,
      accountId: A,
      amount: money('1000.00'),
      metadata: { src: 'wire' },
    });
    expect(r.account).toMatchObject({ version: '2', balance: '1000.00', held: '0.00' });
    replies.set('dep', r);
    r = await call('Withdraw', { transactionId: ids.wd, accountId: A, amount: money('100.25') });
    expect(r.account).toMatchObject({ version: '3', balance: '899.75' });
    replies.set('wd', r);
    r = await call('Transfer', {
      transactionId: ids.tr,
      fromAccountId: A,
      toAccountId: B,
      amount: money('200.00'),
      metadata: { why: 'rebalance' },
    });
    expect([r.fromAccount.version, r.fromAccount.balance, r.toAccount.version, r.toAccount.balance]).toEqual([
      '4',
      '699.75',
      '2',
      '200.00',
    ]);
    replies.set('tr', r);
    r = await call('Reserve', {
      reservationId: ids.r1,
      accountId: A,
      amount: money('300.00'),
      orderId: 'ord-1',
      ttlSeconds: 0,
    });
    expect(r.account).toMatchObject({ version: '5', held: '300.00' });
    replies.set('r1', r);
    r = await call('AmendReservation', { reservationId: ids.r1, amendId: ids.a1, newAmount: money('350.00') });
    expect(r.account).toMatchObject({ version: '6', held: '350.00' });
    replies.set('a1', r);
    r = await call('CommitReservation', {
      reservationId: ids.r1,
      commitId: ids.c1,
      amount: money('100.00'),
      final: false,
    });
    expect(r.account).toMatchObject({ version: '7', balance: '599.75', held: '250.00' });
    replies.set('c1', r);
    r = await call('CommitReservation', {
      reservationId: ids.r1,
      commitId: ids.c2,
      amount: money('50.00'),
      final: true,
    });
    expect(r.account).toMatchObject({ version: '9', balance: '549.75', held: '0.00' });
    expect(r.reservation).toMatchObject({
      status: 'RESERVATION_STATUS_RELEASED',
      committed: '150.00',
      accountVersion: '9',
    });
    replies.set('c2', r);
    r = await call('Reserve', {
      reservationId: ids.r2,
      accountId: A,
      amount: money('40.00'),
      orderId: '',
      ttlSeconds: 0,
    });
    expect(r.account).toMatchObject({ version: '10', held: '40.00' });
    r = await call('ReleaseReservation', { reservationId: ids.r2, reason: 'order cancelled' });
    expect(r.account).toMatchObject({ version: '11', held: '0.00' });
    replies.set('rel2', r);
    r = await call('Reserve', {
      reservationId: ids.r3,
      accountId: A,
      amount: money('25.00'),
      orderId: 'ord-3',
      ttlSeconds: 1,
    });
    expect(r.account).toMatchObject({ version: '12', held: '25.00' });
    // The sweeper expires it within 1 s of expires_at (bounded poll).
    await pollUntil(
      'r3 expired',
      async () =>
        (await iso.ledger.client.call('GetReservation', { reservationId: ids.r3 })).reservation.status ===
        'RESERVATION_STATUS_EXPIRED'
          ? true
          : undefined,
      5000,
    );
    r = await call('FreezeAccount', { accountId: A, reason: 'kyc review' });
    expect(r.account).toMatchObject({ version: '14', status: 'ACCOUNT_STATUS_FROZEN' });
    r = await call('UnfreezeAccount', { accountId: A, reason: 'kyc ok' });
    expect(r.account).toMatchObject({ version: '15', status: 'ACCOUNT_STATUS_OPEN' });
    r = await call('Withdraw', { transactionId: ids.wd2, accountId: A, amount: money('549.75') });
    expect(r.account).toMatchObject({ version: '16', balance: '0.00' });
    r = await call('CloseAccount', { accountId: A, reason: 'client left' });
    expect(r.account).toMatchObject({ version: '17', status: 'ACCOUNT_STATUS_CLOSED' });
    // Other scales: JPY 0 decimals, BHD 3, BTC 8.
    await call('OpenAccount', { accountId: JPY, currency: 'JPY' });
    await call('Deposit', { transactionId: ids.jpy, accountId: JPY, amount: money('1500', 'JPY') });
    await call('OpenAccount', { accountId: BHD, currency: 'BHD', overdraftLimit: '0.5' });
    await call('Deposit', { transactionId: ids.bhd, accountId: BHD, amount: money('1.005', 'BHD') });
    await call('OpenAccount', { accountId: BTC, currency: 'BTC' });
    r = await call('Deposit', { transactionId: ids.btc, accountId: BTC, amount: money('0.00012345', 'BTC') });
    expect(r.account).toMatchObject({ version: '2', balance: '0.00012345' });
  });

  it('replays every id with its original reply and writes nothing for them', async () => {
    const replay = async (key: string, method: string, request: object): Promise<void> => {
      const again = await call(method, request);
      const { replayed, ...rest } = again;
      const { replayed: first, ...original } = replies.get(key) as Reply;
      expect({ key, replayed, first }).toEqual({ key, replayed: true, first: false });
      // The contract promises the released reservation for a second release, not the account
      // as it stood then: Redis answers with the account as it is now (here closed, v17).
      if (method === 'ReleaseReservation') expect(rest['reservation']).toEqual(original['reservation']);
      else expect(rest).toEqual(original);
    };
    await replay('dep', 'Deposit', {
      transactionId: ids.dep,
      accountId: A,
      amount: money('1000.00'),
      metadata: { src: 'wire' },
    });
    await replay('wd', 'Withdraw', { transactionId: ids.wd, accountId: A, amount: money('100.25') });
    await replay('tr', 'Transfer', {
      transactionId: ids.tr,
      fromAccountId: A,
      toAccountId: B,
      amount: money('200.00'),
      metadata: { why: 'rebalance' },
    });
    await replay('r1', 'Reserve', {
      reservationId: ids.r1,
      accountId: A,
      amount: money('300.00'),
      orderId: 'ord-1',
      ttlSeconds: 0,
    });
    await replay('a1', 'AmendReservation', { reservationId: ids.r1, amendId: ids.a1, newAmount: money('350.00') });
    await replay('c1', 'CommitReservation', {
      reservationId: ids.r1,
      commitId: ids.c1,
      amount: money('100.00'),
      final: false,
    });
    await replay('c2', 'CommitReservation', {
      reservationId: ids.r1,
      commitId: ids.c2,
      amount: money('50.00'),
      final: true,
    });
    await replay('rel2', 'ReleaseReservation', { reservationId: ids.r2, reason: 'order cancelled' });
    // A status the account already has is a replay (no event); the closed account answers as closed.
    expect((await call('CloseAccount', { accountId: A, reason: 'again' })).replayed).toBe(true);
    expect((await call('UnfreezeAccount', { accountId: B, reason: 'noop' })).replayed).toBe(true);
  });

  let state: StoreState;

  it('stores exactly the hand-computed events, once each, versions 1..n', async () => {
    await drained(iso);
    state = await storeState(iso, [A, B, JPY, BHD, BTC]);
    const rowsOf = (id: string): StoredEvent[] => state.rows.get(id) ?? [];
    expect(rowsOf(A).map(handView)).toEqual([
      row({
        version: '1',
        type: 'ACCOUNT_OPENED',
        amount: '',
        balanceAfter: '0.00',
        heldAfter: '0.00',
        metadata: { desk: 'eq' },
        overdraftLimit: '50.00',
      }),
      row({
        version: '2',
        type: 'FUNDS_DEPOSITED',
        amount: '1000.00',
        balanceAfter: '1000.00',
        heldAfter: '0.00',
        referenceId: ids.dep,
        metadata: { src: 'wire' },
      }),
      row({
        version: '3',
        type: 'FUNDS_WITHDRAWN',
        amount: '100.25',
        balanceAfter: '899.75',
        heldAfter: '0.00',
        referenceId: ids.wd,
      }),
      row({
        version: '4',
        type: 'TRANSFER_DEBITED',
        amount: '200.00',
        balanceAfter: '699.75',
        heldAfter: '0.00',
        referenceId: ids.tr,
        counterpartyAccountId: B,
        metadata: { why: 'rebalance' },
      }),
      row({
        version: '5',
        type: 'FUNDS_RESERVED',
        amount: '300.00',
        balanceAfter: '699.75',
        heldAfter: '300.00',
        referenceId: ids.r1,
        reservationId: ids.r1,
        orderId: 'ord-1',
      }),
      row({
        version: '6',
        type: 'RESERVATION_AMENDED',
        amount: '350.00',
        balanceAfter: '699.75',
        heldAfter: '350.00',
        referenceId: ids.a1,
        reservationId: ids.r1,
      }),
      row({
        version: '7',
        type: 'RESERVATION_COMMITTED',
        amount: '100.00',
        balanceAfter: '599.75',
        heldAfter: '250.00',
        referenceId: ids.c1,
        reservationId: ids.r1,
      }),
      row({
        version: '8',
        type: 'RESERVATION_COMMITTED',
        amount: '50.00',
        balanceAfter: '549.75',
        heldAfter: '200.00',
        referenceId: ids.c2,
        reservationId: ids.r1,
        final: true,
      }),
      row({
        version: '9',
        type: 'RESERVATION_RELEASED',
        amount: '200.00',
        balanceAfter: '549.75',
        heldAfter: '0.00',
        referenceId: ids.c2,
        reservationId: ids.r1,
        reason: 'final commit',
      }),
      row({
        version: '10',
        type: 'FUNDS_RESERVED',
        amount: '40.00',
        balanceAfter: '549.75',
        heldAfter: '40.00',
        referenceId: ids.r2,
        reservationId: ids.r2,
      }),
      row({
        version: '11',
        type: 'RESERVATION_RELEASED',
        amount: '40.00',
        balanceAfter: '549.75',
        heldAfter: '0.00',
        referenceId: ids.r2,
        reservationId: ids.r2,
        reason: 'order cancelled',
      }),
      row({
        version: '12',
        type: 'FUNDS_RESERVED',
        amount: '25.00',
        balanceAfter: '549.75',
        heldAfter: '25.00',
        referenceId: ids.r3,
        reservationId: ids.r3,
        orderId: 'ord-3',
      }),
      row({
        version: '13',
        type: 'RESERVATION_EXPIRED',
        amount: '25.00',
        balanceAfter: '549.75',
        heldAfter: '0.00',
        referenceId: ids.r3,
        reservationId: ids.r3,
        reason: 'expired',
      }),
      row({
        version: '14',
        type: 'ACCOUNT_FROZEN',
        amount: '',
        balanceAfter: '549.75',
        heldAfter: '0.00',
        reason: 'kyc review',
      }),
      row({
        version: '15',
        type: 'ACCOUNT_UNFROZEN',
        amount: '',
        balanceAfter: '549.75',
        heldAfter: '0.00',
        reason: 'kyc ok',
      }),
      row({
        version: '16',
        type: 'FUNDS_WITHDRAWN',
        amount: '549.75',
        balanceAfter: '0.00',
        heldAfter: '0.00',
        referenceId: ids.wd2,
      }),
      row({
        version: '17',
        type: 'ACCOUNT_CLOSED',
        amount: '',
        balanceAfter: '0.00',
        heldAfter: '0.00',
        reason: 'client left',
      }),
    ]);
    expect(rowsOf(B).map(handView)).toEqual([
      row({
        version: '1',
        type: 'ACCOUNT_OPENED',
        amount: '',
        balanceAfter: '0.00',
        heldAfter: '0.00',
        overdraftLimit: '0.00',
      }),
      row({
        version: '2',
        type: 'TRANSFER_CREDITED',
        amount: '200.00',
        balanceAfter: '200.00',
        heldAfter: '0.00',
        referenceId: ids.tr,
        counterpartyAccountId: A,
        metadata: { why: 'rebalance' },
      }),
    ]);
    expect(rowsOf(JPY).map(handView)).toEqual([
      row({ version: '1', type: 'ACCOUNT_OPENED', amount: '', balanceAfter: '0', heldAfter: '0', overdraftLimit: '0' }),
      row({
        version: '2',
        type: 'FUNDS_DEPOSITED',
        amount: '1500',
        balanceAfter: '1500',
        heldAfter: '0',
        referenceId: ids.jpy,
      }),
    ]);
    expect(rowsOf(BHD).map(handView)).toEqual([
      row({
        version: '1',
        type: 'ACCOUNT_OPENED',
        amount: '',
        balanceAfter: '0.000',
        heldAfter: '0.000',
        overdraftLimit: '0.500',
      }),
      row({
        version: '2',
        type: 'FUNDS_DEPOSITED',
        amount: '1.005',
        balanceAfter: '1.005',
        heldAfter: '0.000',
        referenceId: ids.bhd,
      }),
    ]);
    expect(rowsOf(BTC).map(handView)).toEqual([
      row({
        version: '1',
        type: 'ACCOUNT_OPENED',
        amount: '',
        balanceAfter: '0.00000000',
        heldAfter: '0.00000000',
        overdraftLimit: '0.00000000',
      }),
      row({
        version: '2',
        type: 'FUNDS_DEPOSITED',
        amount: '0.00012345',
        balanceAfter: '0.00012345',
        heldAfter: '0.00000000',
        referenceId: ids.btc,
      }),
    ]);
    // Only r3 expires, exactly 1 s after it was reserved; the others never do.
    const expiring = rowsOf(A).map((e) => {
      const view = expectedProtoOfRow(e);
      return [
        e.version,
        Number(view['expiresAtMs']) === 0 ? 0 : Number(view['expiresAtMs']) - Number(view['occurredAtMs']),
      ];
    });
    expect(expiring.filter(([, ttl]) => ttl !== 0)).toEqual([['12', 1000]]);
    // The call's trace context is stored with every event a call produced; the sweeper's expiry has none.
    const traced = rowsOf(A).map((e) => {
      const match = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(e.metadata.traceparent ?? '');
      return [e.version, match ? traces.get(match[1] as string) : e.metadata.traceparent];
    });
    expect(traced).toEqual([
      ['1', 'OpenAccount'],
      ['2', 'Deposit'],
      ['3', 'Withdraw'],
      ['4', 'Transfer'],
      ['5', 'Reserve'],
      ['6', 'AmendReservation'],
      ['7', 'CommitReservation'],
      ['8', 'CommitReservation'],
      ['9', 'CommitReservation'],
      ['10', 'Reserve'],
      ['11', 'ReleaseReservation'],
      ['12', 'Reserve'],
      ['13', ''],
      ['14', 'FreezeAccount'],
      ['15', 'UnfreezeAccount'],
      ['16', 'Withdraw'],
      ['17', 'CloseAccount'],
    ]);
  });

  it('Redis state equals the fold of the stored events (accounts and reservations)', async () => {
    await expectRedisMatchesStore(iso.ledger.client, state);
    expect(await expectReservationsMatchStore(iso.ledger.client, state)).toBe(3);
  });

  it('puts every stored event on Kafka: keys, headers, order, values equal to the stored rows', async () => {
    const { records, duplicates } = await expectKafkaMatchesStore(iso, state);
    expect(records.length - duplicates).toBe(17 + 2 + 2 + 2 + 2);
    // Headers carry the call's trace: a traceparent of the trace the client sent (not a new one).
    const tracedHeaders = records
      .filter((r) => r.key === A && r.headers['event-type'] !== 'RESERVATION_EXPIRED')
      .map((r) => traces.get(/^00-([0-9a-f]{32})-/.exec(r.headers['traceparent'] ?? '')?.[1] ?? '') !== undefined);
    expect(tracedHeaders.length).toBeGreaterThanOrEqual(16);
    expect(tracedHeaders.every(Boolean)).toBe(true);
  });
});
