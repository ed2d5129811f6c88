import { type AccountState, foldEvents, type ReservationState } from '../../src/ledger/domain/account';
import type { IsolatedLedger } from './isolated-ledger';
import { SCALES } from './isolated-ledger';
import {
  deduplicated,
  fromMinor,
  type KafkaRecord,
  ledgerEventOfProto,
  readTopicUntil,
  recordsByKey,
  timestampMs,
} from './kafka-reader';
import type { LedgerClient, Reply } from './ledger-client';
import { byAccount, eventOfStored, type StoredEvent } from './pg';

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}

function scaleOf(currency: string): number {
  const scale = SCALES.get(currency);
  if (scale === undefined) throw new Error(`no scale for ${currency}`);
  return scale;
}

const STATUS_EVENTS = new Set(['ACCOUNT_OPENED', 'ACCOUNT_FROZEN', 'ACCOUNT_UNFROZEN', 'ACCOUNT_CLOSED']);

/**
 * The AccountEvent a consumer must see for a stored row, derived here from the row alone (amounts
 * as decimals of the currency's scale, "" for status events; extension fields from the payload).
 */
export function expectedProtoOfRow(row: StoredEvent): Record<string, unknown> {
  const scale = scaleOf(row.currency);
  const p = row.payload as {
    order_id?: string;
    expires_at_ms?: string;
    final?: boolean;
    reason?: string;
    overdraft_limit?: string;
  };
  const expiresMs = Number(p.expires_at_ms ?? 0);
  return {
    eventId: row.event_id,
    accountId: row.account_id,
    version: row.version,
    type: `EVENT_TYPE_${row.type}`,
    occurredAtMs: Number(row.occurred_ms),
    currency: row.currency,
    amount: STATUS_EVENTS.has(row.type) ? '' : fromMinor(BigInt(row.amount), scale),
    balanceAfter: fromMinor(BigInt(row.balance_after), scale),
    heldAfter: fromMinor(BigInt(row.held_after), scale),
    referenceId: row.reference_id,
    reservationId: row.reservation_id,
    counterpartyAccountId: row.counterparty_account_id,
    metadata: row.metadata.client ?? {},
    orderId: p.order_id ?? '',
    expiresAtMs: expiresMs,
    final: p.final ?? false,
    reason: p.reason ?? '',
    overdraftLimit: p.overdraft_limit !== undefined ? fromMinor(BigInt(p.overdraft_limit), scale) : '',
  };
}

/** A decoded Kafka value in the shape of expectedProtoOfRow (enum as its name, timestamps as ms). */
export function protoView(record: KafkaRecord): Record<string, unknown> {
  const e = record.event;
  return {
    eventId: e.eventId,
    accountId: e.accountId,
    version: e.version,
    type: `EVENT_TYPE_${ledgerEventOfProto(e, SCALES).type}`,
    occurredAtMs: timestampMs(e.occurredAt),
    currency: e.currency,
    amount: e.amount,
    balanceAfter: e.balanceAfter,
    heldAfter: e.heldAfter,
    referenceId: e.referenceId,
    reservationId: e.reservationId,
    counterpartyAccountId: e.counterpartyAccountId,
    metadata: e.metadata,
    orderId: e.orderId,
    expiresAtMs: timestampMs(e.expiresAt),
    final: e.final,
    reason: e.reason,
    overdraftLimit: e.overdraftLimit,
  };
}

/** An AccountEvent as the test's gRPC client decodes it (enums as names), in the shape of expectedProtoOfRow. */
export function clientEventView(e: Reply): Record<string, unknown> {
  return {
    eventId: e['eventId'],
    accountId: e['accountId'],
    version: e['version'],
    type: e['type'],
    occurredAtMs: timestampMs(e['occurredAt'] as { seconds: string; nanos: number }),
    currency: e['currency'],
    amount: e['amount'],
    balanceAfter: e['balanceAfter'],
    heldAfter: e['heldAfter'],
    referenceId: e['referenceId'],
    reservationId: e['reservationId'],
    counterpartyAccountId: e['counterpartyAccountId'],
    metadata: e['metadata'],
    orderId: e['orderId'],
    expiresAtMs: timestampMs(e['expiresAt'] as { seconds: string; nanos: number } | undefined),
    final: e['final'],
    reason: e['reason'],
    overdraftLimit: e['overdraftLimit'],
  };
}

const ACCOUNT_STATUS = {
  OPEN: 'ACCOUNT_STATUS_OPEN',
  FROZEN: 'ACCOUNT_STATUS_FROZEN',
  CLOSED: 'ACCOUNT_STATUS_CLOSED',
};
const RESERVATION_STATUS = {
  ACTIVE: 'RESERVATION_STATUS_ACTIVE',
  COMMITTED: 'RESERVATION_STATUS_COMMITTED',
  RELEASED: 'RESERVATION_STATUS_RELEASED',
  EXPIRED: 'RESERVATION_STATUS_EXPIRED',
};

/** A folded state in the shape of the gRPC Account message (as the test client decodes it). */
export function accountView(s: AccountState): Record<string, unknown> {
  const scale = scaleOf(s.currency);
  return {
    accountId: s.accountId,
    currency: s.currency,
    status: ACCOUNT_STATUS[s.status],
    balance: fromMinor(s.balance, scale),
    held: fromMinor(s.held, scale),
    available: fromMinor(s.balance - s.held, scale),
    overdraftLimit: fromMinor(s.overdraftLimit, scale),
    version: String(s.version),
    openedAtMs: s.openedAtMs,
    metadata: s.metadata,
  };
}

/** The gRPC Account message in the shape of accountView. */
export function replyAccountView(a: Reply): Record<string, unknown> {
  return {
    accountId: a['accountId'],
    currency: a['currency'],
    status: a['status'],
    balance: a['balance'],
    held: a['held'],
    available: a['available'],
    overdraftLimit: a['overdraftLimit'],
    version: a['version'],
    openedAtMs: timestampMs(a['openedAt'] as { seconds: string; nanos: number }),
    metadata: a['metadata'],
  };
}

export function reservationView(r: ReservationState): Record<string, unknown> {
  const scale = scaleOf(r.currency);
  return {
    reservationId: r.reservationId,
    accountId: r.accountId,
    currency: r.currency,
    amount: fromMinor(r.amount, scale),
    committed: fromMinor(r.committed, scale),
    remaining: fromMinor(r.status === 'ACTIVE' ? r.amount - r.committed : 0n, scale),
    status: RESERVATION_STATUS[r.status],
    orderId: r.orderId,
    expiresAtMs: r.expiresAtMs,
    accountVersion: String(r.accountVersion),
  };
}

export function replyReservationView(r: Reply): Record<string, unknown> {
  return {
    reservationId: r['reservationId'],
    accountId: r['accountId'],
    currency: r['currency'],
    amount: r['amount'],
    committed: r['committed'],
    remaining: r['remaining'],
    status: r['status'],
    orderId: r['orderId'],
    expiresAtMs: timestampMs(r['expiresAt'] as { seconds: string; nanos: number } | undefined),
    accountVersion: r['accountVersion'],
  };
}

/** Versions that are not exactly 1..n in order, per account ([] when every account is gapless). */
export function versionProblems(grouped: ReadonlyMap<string, readonly { version: string | number }[]>): string[] {
  const problems: string[] = [];
  for (const [accountId, rows] of grouped) {
    rows.forEach((row, i) => {
      if (Number(row.version) !== i + 1) problems.push(`${accountId}: position ${i + 1} holds version ${row.version}`);
    });
  }
  return problems;
}

export interface StoreState {
  rows: Map<string, StoredEvent[]>;
  folded: Map<string, AccountState>;
}

/**
 * The event store's view of these accounts: every account has events, versions are exactly
 * 1..n, no event id twice, and the fold of each account's events succeeds (the fold itself
 * rejects any history whose balance_after/held_after disagree with the replay).
 */
export async function storeState(iso: IsolatedLedger, accountIds: readonly string[]): Promise<StoreState> {
  const rows = byAccount(await iso.db.events(accountIds));
  expect(accountIds.filter((id) => !rows.has(id))).toEqual([]);
  expect(versionProblems(rows)).toEqual([]);
  const duplicates = await iso.db.query<{ event_id: string }>(
    `SELECT event_id::text FROM ledger_events WHERE account_id = ANY($1::text[]) GROUP BY event_id HAVING count(*) > 1`,
    [accountIds],
  );
  expect(duplicates).toEqual([]);
  const folded = new Map<string, AccountState>();
  for (const [accountId, list] of rows) folded.set(accountId, foldEvents(list.map(eventOfStored)) as AccountState);
  return { rows, folded };
}

/** GetAccount (Redis) of every account equals the fold of its stored events. */
export async function expectRedisMatchesStore(client: LedgerClient, state: StoreState): Promise<void> {
  const ids = [...state.folded.keys()];
  const live = await mapLimit(
    ids,
    32,
    async (accountId) => (await client.call('GetAccount', { accountId }))['account'] as Reply,
  );
  expect(live.map(replyAccountView)).toEqual(ids.map((id) => accountView(state.folded.get(id) as AccountState)));
}

/** GetReservation of every reservation the fold knows equals the folded reservation. */
export async function expectReservationsMatchStore(client: LedgerClient, state: StoreState): Promise<number> {
  const reservations = [...state.folded.values()].flatMap((s) => [...s.reservations.values()]);
  const live = await mapLimit(reservations, 32, async (r) =>
    replyReservationView(
      (await client.call('GetReservation', { reservationId: r.reservationId }))['reservation'] as Reply,
    ),
  );
  expect(live).toEqual(reservations.map(reservationView));
  return reservations.length;
}

export interface KafkaCheck {
  records: KafkaRecord[];
  /** records beyond the first of their event_id (at-least-once re-sends) */
  duplicates: number;
}

/**
 * The topic against the store, for these accounts: waits (bounded) until every stored event id is
 * on the topic, then checks every record: key = account_id, headers event-id / event-type /
 * traceparent present and equal to the stored values, one partition per key, every value decodes
 * and equals its stored row; per key, deduplicated by event_id, the versions are exactly 1..n in
 * offset order, and re-sent copies are byte-identical; the fold of the deduplicated stream
 * equals the fold of the store.
 */
export async function expectKafkaMatchesStore(
  iso: IsolatedLedger,
  state: StoreState,
  withinMs = 60_000,
): Promise<KafkaCheck> {
  const accountIds = new Set(state.rows.keys());
  const stored = new Map<string, StoredEvent>();
  for (const list of state.rows.values()) for (const row of list) stored.set(row.event_id, row);
  const all = await readTopicUntil(
    iso.topic,
    (records) => {
      const seen = new Set(records.map((r) => r.event.eventId));
      for (const id of stored.keys()) if (!seen.has(id)) return false;
      return true;
    },
    withinMs,
  );
  // The suite's other tests share the topic: keep these accounts' records.
  const records = all.filter((r) => accountIds.has(r.key));
  const seenIds = new Set(records.map((r) => r.event.eventId));
  expect([...stored.keys()].filter((id) => !seenIds.has(id))).toEqual([]);
  expect(records.filter((r) => !stored.has(r.event.eventId)).map((r) => r.event.eventId)).toEqual([]);

  const headerProblems: string[] = [];
  const valueProblems: unknown[] = [];
  for (const r of records) {
    const row = stored.get(r.event.eventId) as StoredEvent;
    if (r.key !== row.account_id) headerProblems.push(`${r.event.eventId}: key ${r.key} != ${row.account_id}`);
    const want = { 'event-id': row.event_id, 'event-type': row.type, traceparent: row.metadata.traceparent ?? '' };
    const got = {
      'event-id': r.headers['event-id'],
      'event-type': r.headers['event-type'],
      traceparent: r.headers['traceparent'],
    };
    if (JSON.stringify(got) !== JSON.stringify(want))
      headerProblems.push(`${r.event.eventId}: headers ${JSON.stringify(r.headers)}`);
    const view = protoView(r);
    const expected = expectedProtoOfRow(row);
    if (JSON.stringify(view) !== JSON.stringify(expected)) valueProblems.push({ got: view, want: expected });
  }
  expect(headerProblems).toEqual([]);
  expect(valueProblems.slice(0, 5)).toEqual([]);

  const byKey = recordsByKey(records);
  const orderProblems: string[] = [];
  const copyProblems: string[] = [];
  const first = new Map<string, Buffer>();
  for (const [key, list] of byKey) {
    const partitions = new Set(list.map((r) => r.partition));
    if (partitions.size !== 1) orderProblems.push(`${key}: spread over partitions ${[...partitions].join(',')}`);
    const versions = deduplicated(list).map((r) => Number(r.event.version));
    const want = (state.rows.get(key) ?? []).map((row) => Number(row.version));
    if (JSON.stringify(versions) !== JSON.stringify(want)) {
      orderProblems.push(`${key}: versions ${versions.join(',')} (want ${want.join(',')})`);
    }
    for (const r of list) {
      const original = first.get(r.event.eventId);
      if (!original) first.set(r.event.eventId, r.value);
      else if (!original.equals(r.value)) copyProblems.push(`${r.event.eventId}: a re-sent copy differs`);
    }
  }
  expect(orderProblems).toEqual([]);
  expect(copyProblems).toEqual([]);

  const foldProblems: string[] = [];
  for (const [key, list] of byKey) {
    const kafkaState = foldEvents(deduplicated(list).map((r) => ledgerEventOfProto(r.event, SCALES)));
    const storeFold = state.folded.get(key);
    if (
      !kafkaState ||
      !storeFold ||
      JSON.stringify(accountView(kafkaState)) !== JSON.stringify(accountView(storeFold))
    ) {
      foldProblems.push(key);
      continue;
    }
    const a = [...kafkaState.reservations.values()].map(reservationView);
    const b = [...storeFold.reservations.values()].map(reservationView);
    if (JSON.stringify(a) !== JSON.stringify(b)) foldProblems.push(`${key} (reservations)`);
  }
  expect(foldProblems).toEqual([]);
  return { records, duplicates: records.length - first.size };
}
