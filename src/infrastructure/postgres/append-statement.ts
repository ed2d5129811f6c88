import { detailsToJson, type OutboxEvent } from '../outbox/outbox-entry';
import { ACCOUNT_LOCK_SPACE, APPEND_LOCK } from './append-locks';

/*
 * The relay's batch statement: its SQL, prepared once per connection, and how a batch becomes
 * the message that opens its transaction, takes the append lock and runs it (BatchAppender).
 */

/** The transaction and the append lock (see APPEND_LOCK). */
const BEGIN_AND_LOCK = `BEGIN; SELECT pg_advisory_xact_lock(${APPEND_LOCK})`;

/**
 * The batch statement, prepared once per connection (APPEND_PREPARE): the batch's account history
 * locks (shared), the highest global_seq stored before it, the events (one multi-row INSERT, in
 * batch order, so that global_seq follows each account's versions) and their idempotency records
 * (one per (key, account), with the last version the call produced there: a final commit writes
 * two events under one key, a transfer one on each of two accounts). A re-delivered event inserts
 * nothing.
 * `history_locks` is joined into the INSERT so that it runs (a CTE nobody reads is skipped).
 */
const APPEND_SQL = `
WITH input AS MATERIALIZED (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                       $8::bigint[], $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::jsonb[], $14::bigint[],
                       $15::text[], $16::text[])
    WITH ORDINALITY AS t(event_id, account_id, version, type, currency, amount, balance_after, held_after,
                         reference_id, reservation_id, counterparty_account_id, payload, metadata, occurred_ms,
                         idempotency_key, request_hash, ord)
), history_locks AS MATERIALIZED (
  SELECT count(pg_advisory_xact_lock_shared(${ACCOUNT_LOCK_SPACE}, hashtext(a.account_id))) AS n
    FROM (SELECT DISTINCT account_id FROM input ORDER BY account_id) a
), prior AS MATERIALIZED (
  SELECT coalesce(max(global_seq), 0) AS seq FROM ledger_events
), stored AS (
  INSERT INTO ledger_events (event_id, account_id, version, type, currency, amount, balance_after, held_after,
                             reference_id, reservation_id, counterparty_account_id, payload, metadata, occurred_at)
  SELECT i.event_id, i.account_id, i.version, i.type, i.currency, i.amount, i.balance_after, i.held_after,
         i.reference_id, i.reservation_id, i.counterparty_account_id, i.payload, i.metadata,
         to_timestamp(i.occurred_ms / 1000.0)
    FROM input i CROSS JOIN history_locks
   ORDER BY i.ord
  ON CONFLICT DO NOTHING
  RETURNING global_seq, event_id
), keyed AS (
  INSERT INTO ledger_idempotency (idempotency_key, account_id, request_hash, version, event_id)
  SELECT DISTINCT ON (i.idempotency_key, i.account_id) i.idempotency_key, i.account_id, i.request_hash, i.version,
         i.event_id
    FROM stored s JOIN input i ON i.event_id = s.event_id
   WHERE i.request_hash <> ''
   ORDER BY i.idempotency_key, i.account_id, i.version DESC
  ON CONFLICT (idempotency_key, account_id) DO UPDATE
    SET version = EXCLUDED.version, event_id = EXCLUDED.event_id
    WHERE ledger_idempotency.version < EXCLUDED.version
)
SELECT p.seq::text AS prior_seq, s.global_seq::text AS global_seq, s.event_id::text AS event_id
  FROM prior p LEFT JOIN stored s ON true
 ORDER BY s.global_seq`;

function columns(events: readonly OutboxEvent[]): (readonly (string | number)[])[] {
  return [
    events.map((e) => e.eventId),
    events.map((e) => e.accountId),
    events.map((e) => e.version),
    events.map((e) => e.type),
    events.map((e) => e.currency),
    events.map((e) => e.amount.toString()),
    events.map((e) => e.balanceAfter.toString()),
    events.map((e) => e.heldAfter.toString()),
    events.map((e) => e.referenceId),
    events.map((e) => e.reservationId),
    events.map((e) => e.counterpartyAccountId),
    events.map((e) => JSON.stringify(detailsToJson(e.details))),
    events.map((e) =>
      JSON.stringify({ client: e.metadata, traceparent: e.traceparent, idempotency_key: e.idempotencyKey }),
    ),
    events.map((e) => e.occurredAtMs),
    events.map((e) => e.idempotencyKey),
    events.map((e) => e.requestHash),
  ];
}

/** APPEND_SQL's parameter types, in the order of columns(). */
const APPEND_PARAMETER_TYPES = [
  'uuid[]',
  'text[]',
  'bigint[]',
  'text[]',
  'text[]',
  'bigint[]',
  'bigint[]',
  'bigint[]',
  'text[]',
  'text[]',
  'text[]',
  'jsonb[]',
  'jsonb[]',
  'bigint[]',
  'text[]',
  'text[]',
];

export const APPEND_PREPARE = `PREPARE ledger_append_batch(${APPEND_PARAMETER_TYPES.join(', ')}) AS ${APPEND_SQL}`;

/**
 * Text as an SQL string literal, as pg's escapeLiteral quotes it (quotes doubled; with a
 * backslash, the E'' form with backslashes doubled), by two native replaces instead of its loop
 * over every character, which left a string per character for the collector on every batch.
 */
export function quoteLiteral(text: string): string {
  const quoted = text.replace(/'/g, "''");
  return text.includes('\\') ? ` E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/**
 * A column as a Postgres array literal, quoted as an SQL string literal: every element
 * double-quoted with its backslashes and double quotes escaped (array syntax), then the whole
 * text quoted (SQL syntax). No element is NULL.
 */
export function arrayLiteral(values: readonly (string | number)[]): string {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    text += `${i === 0 ? '' : ','}"${String(values[i]).replace(/[\\"]/g, '\\$&')}"`;
  }
  return quoteLiteral(`${text}}`);
}

/**
 * BEGIN, the append lock and the batch statement in one message (simple protocol, so the batch
 * goes as literals to the prepared statement): one round trip instead of two.
 * Each statement takes its own snapshot, so the batch statement's reads start after the lock is
 * granted, which CommittedBatch relies on.
 */
export function beginLockAndAppend(events: readonly OutboxEvent[]): string {
  return `${BEGIN_AND_LOCK}; EXECUTE ledger_append_batch(${columns(events).map(arrayLiteral).join(', ')})`;
}
