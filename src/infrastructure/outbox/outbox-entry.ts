import type { EventDetails, LedgerEvent } from '../../ledger/domain/events';
import { isEventType } from '../../ledger/domain/events';

/** An event as the Lua scripts append it to a bucket's outbox stream, plus what the store keeps with it. */
export interface OutboxEvent extends LedgerEvent {
  /** digest of the call's parameters (lua/lib/prelude.lua emit: field h); "" for calls without an id */
  requestHash: string;
}

interface RawDetails {
  overdraft_limit?: string;
  order_id?: string;
  expires_at_ms?: string;
  new_amount?: string;
  final?: boolean;
  reason?: string;
}

function details(raw: RawDetails): EventDetails {
  const d: EventDetails = {};
  if (raw.overdraft_limit !== undefined) d.overdraftLimit = BigInt(raw.overdraft_limit);
  if (raw.order_id !== undefined) d.orderId = raw.order_id;
  if (raw.expires_at_ms !== undefined) d.expiresAtMs = Number(raw.expires_at_ms);
  if (raw.new_amount !== undefined) d.newAmount = BigInt(raw.new_amount);
  if (raw.final !== undefined) d.final = raw.final;
  if (raw.reason !== undefined) d.reason = raw.reason;
  return d;
}

/** The inverse of `details`, for the event store's payload column and Kafka. */
export function detailsToJson(d: EventDetails): RawDetails {
  const raw: RawDetails = {};
  if (d.overdraftLimit !== undefined) raw.overdraft_limit = d.overdraftLimit.toString();
  if (d.orderId !== undefined) raw.order_id = d.orderId;
  if (d.expiresAtMs !== undefined) raw.expires_at_ms = String(d.expiresAtMs);
  if (d.newAmount !== undefined) raw.new_amount = d.newAmount.toString();
  if (d.final !== undefined) raw.final = d.final;
  if (d.reason !== undefined) raw.reason = d.reason;
  return raw;
}

export function detailsFromJson(raw: unknown): EventDetails {
  return details((raw ?? {}) as RawDetails);
}

/** Stream entry fields (a flat [name, value, ...] list from XREADGROUP) to an event. */
export function parseOutboxEntry(fields: readonly string[]): OutboxEvent {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  const get = (name: string): string => {
    const value = f.get(name);
    if (value === undefined) throw new Error(`outbox entry without field ${name}`);
    return value;
  };
  const type = get('type');
  if (!isEventType(type)) throw new Error(`outbox entry with unknown type ${type}`);
  return {
    eventId: get('id'),
    accountId: get('acct'),
    version: Number(get('ver')),
    type,
    occurredAtMs: Number(get('ts')),
    currency: get('cur'),
    amount: BigInt(get('amt')),
    balanceAfter: BigInt(get('bal')),
    heldAfter: BigInt(get('held')),
    referenceId: get('ref'),
    reservationId: get('res'),
    counterpartyAccountId: get('cp'),
    metadata: JSON.parse(get('meta')) as Record<string, string>,
    details: details(JSON.parse(get('x')) as RawDetails),
    traceparent: f.get('tp') ?? '',
    idempotencyKey: get('ikey'),
    requestHash: f.get('h') ?? '',
  };
}
