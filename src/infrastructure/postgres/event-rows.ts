import type { AccountState, ReservationState } from '../../ledger/domain/account';
import type { LedgerEvent } from '../../ledger/domain/events';
import { isEventType } from '../../ledger/domain/events';
import { detailsFromJson } from '../outbox/outbox-entry';

/** A row of ledger_events as pg returns it (BIGINT as string, TIMESTAMPTZ as Date). */
export interface EventRow {
  global_seq: string;
  event_id: string;
  account_id: string;
  version: string;
  type: string;
  currency: string;
  amount: string;
  balance_after: string;
  held_after: string;
  reference_id: string;
  reservation_id: string;
  counterparty_account_id: string;
  payload: unknown;
  metadata: { client?: Record<string, string>; traceparent?: string; idempotency_key?: string };
  occurred_at: Date;
}

export const EVENT_COLUMNS =
  'global_seq, event_id, account_id, version, type, currency, amount, balance_after, held_after, reference_id, ' +
  'reservation_id, counterparty_account_id, payload, metadata, occurred_at';

export function eventOfRow(row: EventRow): LedgerEvent {
  if (!isEventType(row.type)) throw new Error(`event ${row.event_id} has unknown type ${row.type}`);
  return {
    eventId: row.event_id,
    accountId: row.account_id,
    version: Number(row.version),
    type: row.type,
    occurredAtMs: row.occurred_at.getTime(),
    currency: row.currency,
    amount: BigInt(row.amount),
    balanceAfter: BigInt(row.balance_after),
    heldAfter: BigInt(row.held_after),
    referenceId: row.reference_id,
    reservationId: row.reservation_id,
    counterpartyAccountId: row.counterparty_account_id,
    metadata: row.metadata.client ?? {},
    details: detailsFromJson(row.payload),
    traceparent: row.metadata.traceparent ?? '',
    idempotencyKey: row.metadata.idempotency_key ?? '',
  };
}

interface ReservationJson {
  reservationId: string;
  accountId: string;
  currency: string;
  amount: string;
  committed: string;
  status: ReservationState['status'];
  orderId: string;
  expiresAtMs: number;
  accountVersion: number;
}

export interface SnapshotJson {
  accountId: string;
  currency: string;
  status: AccountState['status'];
  balance: string;
  held: string;
  overdraftLimit: string;
  version: number;
  openedAtMs: number;
  metadata: Record<string, string>;
  /** ACTIVE reservations only: terminal ones never see another event, so a fold does not need them */
  reservations: ReservationJson[];
}

export function snapshotOfState(state: AccountState): SnapshotJson {
  return {
    accountId: state.accountId,
    currency: state.currency,
    status: state.status,
    balance: state.balance.toString(),
    held: state.held.toString(),
    overdraftLimit: state.overdraftLimit.toString(),
    version: state.version,
    openedAtMs: state.openedAtMs,
    metadata: state.metadata,
    reservations: [...state.reservations.values()]
      .filter((r) => r.status === 'ACTIVE')
      .map((r) => ({ ...r, amount: r.amount.toString(), committed: r.committed.toString() })),
  };
}

export function stateOfSnapshot(json: SnapshotJson): AccountState {
  return {
    accountId: json.accountId,
    currency: json.currency,
    status: json.status,
    balance: BigInt(json.balance),
    held: BigInt(json.held),
    overdraftLimit: BigInt(json.overdraftLimit),
    version: json.version,
    openedAtMs: json.openedAtMs,
    metadata: json.metadata,
    reservations: new Map(
      json.reservations.map((r) => [
        r.reservationId,
        { ...r, amount: BigInt(r.amount), committed: BigInt(r.committed) } satisfies ReservationState,
      ]),
    ),
  };
}
