/**
 * The events of one account's stream, as the Lua scripts append them to the Redis outbox and as
 * the event store keeps them. Amounts are integer minor units (bigint here, decimal strings on
 * the wire). Folding an account's events from version 1 reproduces its state exactly.
 */
export const EVENT_TYPES = [
  'ACCOUNT_OPENED',
  'FUNDS_DEPOSITED',
  'FUNDS_WITHDRAWN',
  'FUNDS_RESERVED',
  'RESERVATION_AMENDED',
  'RESERVATION_COMMITTED',
  'RESERVATION_RELEASED',
  'RESERVATION_EXPIRED',
  'TRANSFER_DEBITED',
  'TRANSFER_CREDITED',
  'ACCOUNT_FROZEN',
  'ACCOUNT_UNFROZEN',
  'ACCOUNT_CLOSED',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** Type-specific facts an event needs beyond the common fields, so that a fold is exact. */
export interface EventDetails {
  /** ACCOUNT_OPENED */
  overdraftLimit?: bigint;
  /** FUNDS_RESERVED */
  orderId?: string;
  /** FUNDS_RESERVED: epoch ms, 0 = never */
  expiresAtMs?: number;
  /** RESERVATION_AMENDED: the hold's new total size */
  newAmount?: bigint;
  /** RESERVATION_COMMITTED: the commit asked to release the rest (a RELEASED event follows) */
  final?: boolean;
  /** ACCOUNT_FROZEN / UNFROZEN / CLOSED, RESERVATION_RELEASED: free text from the caller */
  reason?: string;
}

export interface LedgerEvent {
  eventId: string;
  accountId: string;
  /** gapless from 1 per account */
  version: number;
  type: EventType;
  occurredAtMs: number;
  currency: string;
  /** movement amount in minor units; 0n for status events */
  amount: bigint;
  balanceAfter: bigint;
  heldAfter: bigint;
  /** transaction_id, reservation_id, commit_id or amend_id */
  referenceId: string;
  reservationId: string;
  counterpartyAccountId: string;
  metadata: Record<string, string>;
  details: EventDetails;
  /** W3C traceparent of the call that caused the event ("" if none) */
  traceparent: string;
  /** kind:key of the client's idempotency key (e.g. "deposit:tx-1") */
  idempotencyKey: string;
}
