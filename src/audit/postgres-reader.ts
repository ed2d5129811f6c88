import type { Pool } from 'pg';
import type { AccountState } from '../ledger/domain/account';
import {
  EVENT_COLUMNS,
  type EventRow,
  type SnapshotJson,
  stateOfSnapshot,
} from '../infrastructure/postgres/event-rows';
import type { StoredIdempotency } from './account-audit';

/** A ledger_idempotency row whose event does not back it (see orphanIdempotency). */
export interface OrphanIdempotency {
  key: string;
  accountId: string;
  version: number;
  eventId: string;
  /** what the event with that id is, or undefined when no such event is stored */
  event: { accountId: string; version: number; key: string } | undefined;
}

export interface TransferProblem {
  reference: string;
  debit: { accountId: string; counterparty: string; amount: string; currency: string } | undefined;
  credit: { accountId: string; counterparty: string; amount: string; currency: string } | undefined;
}

/**
 * The audit's reads of the event store. Every read is a bounded page (keyset pagination over an
 * index), so memory does not grow with the store: the events in (account_id, version) order
 * (the unique index), snapshots and idempotency records of a group of accounts (primary keys),
 * and the whole-table checks that Postgres runs itself (transfer pairs, conflicts).
 */
export class AuditPostgres {
  constructor(private readonly pool: Pool) {}

  private async rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
  }

  /** Every event, by account then version, `pageSize` rows at a time. */
  async *eventPages(pageSize: number): AsyncGenerator<EventRow[]> {
    let after: [string, string] = ['', '0'];
    for (;;) {
      const page = await this.rows<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ledger_events WHERE (account_id, version) > ($1, $2::bigint)
          ORDER BY account_id, version LIMIT $3`,
        [after[0], after[1], pageSize],
      );
      if (page.length === 0) return;
      yield page;
      const last = page[page.length - 1] as EventRow;
      after = [last.account_id, last.version];
      if (page.length < pageSize) return;
    }
  }

  /** One account's events in version order, `pageSize` at a time (the re-check of a moving account). */
  async *accountEventPages(accountId: string, pageSize: number): AsyncGenerator<EventRow[]> {
    let after = '0';
    for (;;) {
      const page = await this.rows<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ledger_events WHERE account_id = $1 AND version > $2::bigint
          ORDER BY version LIMIT $3`,
        [accountId, after, pageSize],
      );
      if (page.length === 0) return;
      yield page;
      after = (page[page.length - 1] as EventRow).version;
      if (page.length < pageSize) return;
    }
  }

  /** The snapshots of these accounts, oldest first. */
  async snapshots(accountIds: readonly string[]): Promise<Map<string, AccountState[]>> {
    const out = new Map<string, AccountState[]>();
    if (accountIds.length === 0) return out;
    const rows = await this.rows<{ account_id: string; state: SnapshotJson }>(
      `SELECT account_id, state FROM ledger_snapshots WHERE account_id = ANY($1::text[]) ORDER BY account_id, version`,
      [accountIds],
    );
    for (const row of rows) {
      const list = out.get(row.account_id) ?? [];
      list.push(stateOfSnapshot(row.state));
      out.set(row.account_id, list);
    }
    return out;
  }

  /** ledger_idempotency rows of these (key, account) pairs: account -> key -> row. */
  async idempotency(
    pairs: readonly { key: string; accountId: string }[],
  ): Promise<Map<string, Map<string, StoredIdempotency>>> {
    const out = new Map<string, Map<string, StoredIdempotency>>();
    for (let i = 0; i < pairs.length; i += 1000) {
      const chunk = pairs.slice(i, i + 1000);
      const rows = await this.rows<{
        idempotency_key: string;
        account_id: string;
        request_hash: string;
        version: string;
        event_id: string;
      }>(
        `SELECT i.idempotency_key, i.account_id, i.request_hash, i.version, i.event_id
           FROM ledger_idempotency i JOIN unnest($1::text[], $2::text[]) AS p(k, a)
             ON i.idempotency_key = p.k AND i.account_id = p.a`,
        [chunk.map((p) => p.key), chunk.map((p) => p.accountId)],
      );
      for (const r of rows) {
        const of = out.get(r.account_id) ?? new Map<string, StoredIdempotency>();
        of.set(r.idempotency_key, { requestHash: r.request_hash, version: Number(r.version), eventId: r.event_id });
        out.set(r.account_id, of);
      }
    }
    return out;
  }

  /** ledger_idempotency rows that no stored event backs, a page of the table at a time. */
  async *orphanIdempotency(pageSize: number): AsyncGenerator<OrphanIdempotency[]> {
    let after: [string, string] = ['', ''];
    for (;;) {
      const page = await this.rows<{
        idempotency_key: string;
        account_id: string;
        version: string;
        event_id: string;
        e_account: string | null;
        e_version: string | null;
        e_key: string | null;
      }>(
        `SELECT i.idempotency_key, i.account_id, i.version, i.event_id,
                e.account_id AS e_account, e.version AS e_version, e.metadata->>'idempotency_key' AS e_key
           FROM ledger_idempotency i LEFT JOIN ledger_events e ON e.event_id = i.event_id
          WHERE (i.idempotency_key, i.account_id) > ($1, $2)
          ORDER BY i.idempotency_key, i.account_id LIMIT $3`,
        [after[0], after[1], pageSize],
      );
      if (page.length === 0) return;
      yield page
        .filter(
          (r) => r.e_account !== r.account_id || r.e_version !== r.version || (r.e_key ?? '') !== r.idempotency_key,
        )
        .map((r) => ({
          key: r.idempotency_key,
          accountId: r.account_id,
          version: Number(r.version),
          eventId: r.event_id,
          event:
            r.e_account === null
              ? undefined
              : { accountId: r.e_account, version: Number(r.e_version), key: r.e_key ?? '' },
        }));
      const last = page[page.length - 1] as { idempotency_key: string; account_id: string };
      after = [last.idempotency_key, last.account_id];
      if (page.length < pageSize) return;
    }
  }

  /**
   * Transfers whose two events do not pair up: a debit without its credit (or the reverse), or
   * two events that disagree on amount, currency or counterparties. Postgres does the join.
   */
  async transferProblems(limit: number): Promise<TransferProblem[]> {
    const rows = await this.rows<{
      reference: string;
      d_account: string | null;
      d_cp: string | null;
      d_amount: string | null;
      d_currency: string | null;
      c_account: string | null;
      c_cp: string | null;
      c_amount: string | null;
      c_currency: string | null;
    }>(
      `SELECT coalesce(d.reference_id, c.reference_id) AS reference,
              d.account_id AS d_account, d.counterparty_account_id AS d_cp, d.amount::text AS d_amount, d.currency AS d_currency,
              c.account_id AS c_account, c.counterparty_account_id AS c_cp, c.amount::text AS c_amount, c.currency AS c_currency
         FROM (SELECT * FROM ledger_events WHERE type = 'TRANSFER_DEBITED') d
         FULL JOIN (SELECT * FROM ledger_events WHERE type = 'TRANSFER_CREDITED') c ON c.reference_id = d.reference_id
        WHERE d.event_id IS NULL OR c.event_id IS NULL OR d.amount <> c.amount OR d.currency <> c.currency
           OR d.counterparty_account_id <> c.account_id OR c.counterparty_account_id <> d.account_id
        LIMIT $1`,
      [limit],
    );
    const side = (account: string | null, cp: string | null, amount: string | null, currency: string | null) =>
      account === null
        ? undefined
        : { accountId: account, counterparty: cp ?? '', amount: amount ?? '', currency: currency ?? '' };
    return rows.map((r) => ({
      reference: r.reference,
      debit: side(r.d_account, r.d_cp, r.d_amount, r.d_currency),
      credit: side(r.c_account, r.c_cp, r.c_amount, r.c_currency),
    }));
  }

  /** Outbox entries the relay could not store because their version was taken (never dropped silently). */
  async conflicts(limit: number): Promise<{ accountId: string; version: number; eventId: string }[]> {
    const rows = await this.rows<{ account_id: string; version: string; event_id: string }>(
      `SELECT account_id, version, event_id FROM ledger_event_conflicts ORDER BY account_id, version LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ accountId: r.account_id, version: Number(r.version), eventId: r.event_id }));
  }

  /** Stored events not yet acknowledged by Kafka. */
  async kafkaBacklog(): Promise<number> {
    const rows = await this.rows<{ n: string }>(
      `SELECT count(*)::text AS n FROM ledger_events
        WHERE global_seq > (SELECT published_seq FROM ledger_kafka_watermark)`,
      [],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The stored rows of these event ids (ids that are not UUIDs are not looked up). */
  async eventsById(eventIds: readonly string[]): Promise<Map<string, EventRow>> {
    if (eventIds.length === 0) return new Map();
    const rows = await this.rows<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ledger_events WHERE event_id = ANY($1::uuid[])`,
      [eventIds],
    );
    return new Map(rows.map((r) => [r.event_id, r]));
  }

  /** Per account, its highest stored version, `pageSize` accounts at a time. */
  async *maxVersions(pageSize: number): AsyncGenerator<{ accountId: string; version: number }[]> {
    let after = '';
    for (;;) {
      const page = await this.rows<{ account_id: string; v: string }>(
        `SELECT account_id, max(version)::text AS v FROM ledger_events WHERE account_id > $1
          GROUP BY account_id ORDER BY account_id LIMIT $2`,
        [after, pageSize],
      );
      if (page.length === 0) return;
      yield page.map((r) => ({ accountId: r.account_id, version: Number(r.v) }));
      after = (page[page.length - 1] as { account_id: string }).account_id;
      if (page.length < pageSize) return;
    }
  }

  /** Which of these (account, version) pairs Kafka has not acknowledged yet: after the publisher's watermark ("account|version"). */
  async queued(pairs: readonly { accountId: string; version: number }[]): Promise<Set<string>> {
    if (pairs.length === 0) return new Set();
    const rows = await this.rows<{ account_id: string; version: string }>(
      `SELECT e.account_id, e.version::text AS version FROM ledger_events e
         JOIN unnest($1::text[], $2::bigint[]) AS p(a, v) ON e.account_id = p.a AND e.version = p.v
        WHERE e.global_seq > (SELECT published_seq FROM ledger_kafka_watermark)`,
      [pairs.map((p) => p.accountId), pairs.map((p) => p.version)],
    );
    return new Set(rows.map((r) => `${r.account_id}|${r.version}`));
  }

  /** The accounts among these that have at least one stored event. */
  async knownAccounts(accountIds: readonly string[]): Promise<Set<string>> {
    if (accountIds.length === 0) return new Set();
    const rows = await this.rows<{ account_id: string }>(
      `SELECT DISTINCT account_id FROM ledger_events WHERE account_id = ANY($1::text[]) AND version = 1`,
      [accountIds],
    );
    return new Set(rows.map((r) => r.account_id));
  }

  /** The account each of these reservations belongs to in the store (absent: never stored). */
  async reservationAccounts(reservationIds: readonly string[]): Promise<Map<string, string>> {
    if (reservationIds.length === 0) return new Map();
    const rows = await this.rows<{ reservation_id: string; account_id: string }>(
      `SELECT DISTINCT reservation_id, account_id FROM ledger_events
        WHERE reservation_id = ANY($1::text[]) AND type = 'FUNDS_RESERVED'`,
      [reservationIds],
    );
    return new Map(rows.map((r) => [r.reservation_id, r.account_id]));
  }
}
