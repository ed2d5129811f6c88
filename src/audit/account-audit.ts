/**
 * The pure core of the audit for one account: folds its stored events one by one (checking that
 * versions are gapless and that the history is consistent), then compares the result with what
 * Redis holds (the account, its reservations, expiry entries, replay records) and with the
 * idempotency records of the event store. No I/O: the readers in this folder fetch, this decides.
 * The fold is AccountFold (account-fold.ts); the fields compared are in audit-fields.ts.
 */
import { toAccount, toReservation } from '../infrastructure/redis/hash-codec';
import type { ScriptReply } from '../infrastructure/redis/script-replies';
import type { AccountFold, KeyOutcome } from './account-fold';
import { ACCOUNT_FIELDS, REPLY_ACCOUNT_FIELDS, RESERVATION_FIELDS } from './audit-fields';
import { compareFields, type Difference } from './differences';

/**
 * Idempotency key kinds (the `ikey` prefix of lua/*.lua's emit) whose events carry a parameter
 * hash, so the event store keeps a ledger_idempotency record for them. Status changes, releases
 * and expiries are answered from state, not from a record.
 */
const HASHED_KINDS: ReadonlySet<string> = new Set(['open', 'tx', 'res', 'amend', 'commit']);
/** Of those, the kinds that also have a replay record in Redis (`<bucket>:idem:<kind>:<key>`). */
const REPLY_KINDS: ReadonlySet<string> = new Set(['tx', 'res', 'amend', 'commit']);

export function keyKind(idempotencyKey: string): string {
  return idempotencyKey.slice(0, Math.max(0, idempotencyKey.indexOf(':')));
}

/** Whether Redis keeps a replay record for this key (and so the audit reads it). */
export function hasReplyRecord(idempotencyKey: string): boolean {
  return REPLY_KINDS.has(keyKind(idempotencyKey));
}

/** What the audit read from Redis for one account (raw hash fields, as HGETALL returns them). */
export interface RedisAccountRead {
  /** the account hash; {} when Redis does not hold the account */
  account: Record<string, string>;
  /** every reservation the fold knows: its hash ({} when absent) */
  reservations: ReadonlyMap<string, Record<string, string>>;
  /** score of each ACTIVE reservation with an expiry in its bucket's expiry index (null: absent) */
  expiry: ReadonlyMap<string, string | null>;
  /** the replay record of each key with one (hasReplyRecord), null fields when absent or expired */
  replies: ReadonlyMap<string, { requestHash: string | null; reply: string | null }>;
}

/** A ledger_idempotency row for (key, this account). */
export interface StoredIdempotency {
  requestHash: string;
  version: number;
  eventId: string;
}

export interface RedisComparison {
  differences: Difference[];
  /** Redis does not hold the account (rebuilt from the store when first used: not a difference) */
  missing: boolean;
  /** the version Redis holds (undefined when missing or unreadable) */
  version: number | undefined;
}

function parsed<T>(out: Difference[], account: string, field: string, read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    out.push({
      account,
      field,
      detail: `unreadable in redis: ${error instanceof Error ? error.message : String(error)}`,
    });
    return undefined;
  }
}

/** Redis against the fold: the account, every reservation it holds, the expiry index. */
export function compareRedis(fold: AccountFold, read: RedisAccountRead): RedisComparison {
  const out: Difference[] = [];
  const state = fold.state;
  const id = fold.accountId;
  if (!state) return { differences: out, missing: false, version: undefined };
  if (read.account['id'] === undefined) {
    // A lost account comes back from the store on first use; its reservations come with it.
    return { differences: out, missing: true, version: undefined };
  }
  const live = parsed(out, id, 'account', () => toAccount(read.account as never));
  if (live) compareFields(out, id, '', ['redis', 'postgres'], live, state, ACCOUNT_FIELDS);

  let heldInRedis = 0n;
  for (const [reservationId, folded] of state.reservations) {
    const fields = read.reservations.get(reservationId) ?? {};
    const where = `reservations[${reservationId}]`;
    if (fields['id'] === undefined) {
      // Only active holds are written back when an account is rebuilt; ended ones may be gone.
      if (folded.status === 'ACTIVE')
        out.push({ account: id, field: where, detail: 'ACTIVE in postgres, missing in redis' });
      continue;
    }
    const r = parsed(out, id, where, () => toReservation(fields as never));
    if (!r) continue;
    compareFields(out, id, `${where}.`, ['redis', 'postgres'], r, folded, RESERVATION_FIELDS);
    if (r.status === 'ACTIVE') heldInRedis += r.amount - r.committed;
    if (folded.status === 'ACTIVE' && folded.expiresAtMs > 0) {
      const score = read.expiry.get(reservationId) ?? null;
      if (score === null || Number(score) !== folded.expiresAtMs) {
        out.push({
          account: id,
          field: `expiry[${reservationId}]`,
          detail: `redis expiry index ${score ?? 'has no entry'} != postgres ${folded.expiresAtMs}`,
        });
      }
    }
  }
  if (live && live.held !== heldInRedis) {
    out.push({
      account: id,
      field: 'held',
      detail: `redis held ${live.held} != ${heldInRedis}, the sum of remaining over its ACTIVE reservations`,
    });
  }
  return { differences: out, missing: false, version: live?.version };
}

/**
 * Idempotency records against the fold: every key whose events carry a parameter hash has a
 * ledger_idempotency row naming the key's last event on this account; the account's own hash
 * and each Redis replay record carry the same parameter hash; a replay record answers exactly
 * the state right after the key's last event (what a replay must return).
 */
export function compareIdempotency(
  fold: AccountFold,
  rows: ReadonlyMap<string, StoredIdempotency>,
  read: RedisAccountRead | undefined,
): Difference[] {
  const out: Difference[] = [];
  const id = fold.accountId;
  for (const [key, outcome] of fold.keys) {
    if (!HASHED_KINDS.has(keyKind(key))) continue;
    const field = `idempotency[${key}]`;
    const row = rows.get(key);
    if (!row) {
      out.push({ account: id, field, detail: `no ledger_idempotency record (last event v${outcome.version})` });
      continue;
    }
    if (row.version !== outcome.version || row.eventId !== outcome.eventId) {
      out.push({
        account: id,
        field: `${field}.version`,
        detail: `ledger_idempotency v${row.version} (${row.eventId}) != last event of the key v${outcome.version} (${outcome.eventId})`,
      });
    }
    if (!read) continue;
    if (keyKind(key) === 'open') {
      const h = read.account['h'];
      if (h !== undefined && h !== row.requestHash) {
        out.push({ account: id, field: `${field}.request_hash`, detail: `redis ${h} != postgres ${row.requestHash}` });
      }
      continue;
    }
    const record = read.replies.get(key);
    if (!record || record.reply === null) continue; // expired (retention): answered from the store
    if (record.requestHash !== row.requestHash) {
      out.push({
        account: id,
        field: `${field}.request_hash`,
        detail: `redis ${record.requestHash ?? 'none'} != postgres ${row.requestHash}`,
      });
    }
    compareReply(out, id, field, record.reply, outcome);
  }
  return out;
}

function compareReply(out: Difference[], id: string, field: string, json: string, outcome: KeyOutcome): void {
  const reply = parsed(out, id, `${field}.reply`, () => JSON.parse(json) as ScriptReply);
  if (!reply) return;
  const sides = ['replay', 'state after the call'] as const;
  for (const view of [reply.account, reply.to]) {
    if (!view || view.id !== id) continue;
    const account = parsed(out, id, `${field}.reply`, () => toAccount(view));
    if (account) compareFields(out, id, `${field}.reply.`, sides, account, outcome.account, REPLY_ACCOUNT_FIELDS);
  }
  if (reply.reservation && reply.reservation.acct === id && outcome.reservation) {
    const view = reply.reservation;
    const r = parsed(out, id, `${field}.reply.reservation`, () => toReservation(view));
    if (r) compareFields(out, id, `${field}.reply.reservation.`, sides, r, outcome.reservation, RESERVATION_FIELDS);
  }
}
