import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store: Postgres is the ledger's source of truth.
 * - ledger_events: one row per event; event_id unique, (account_id, version) unique and gapless
 *   per account; global_seq is the order the relay appended them in (one writer per Redis).
 * - ledger_idempotency: every client idempotency key that produced events, kept forever, per
 *   account it touched (a transfer touches two), with the parameter hash and the last account
 *   version the call produced (replays older than Redis's retention are answered from here).
 * - ledger_snapshots: account state every N events, so that rebuilding Redis is fast.
 * - ledger_kafka_queue: events stored but not yet acknowledged by Kafka (the publisher's work list).
 * - ledger_event_conflicts: relay entries whose (account_id, version) was already taken by another
 *   event id: never silently dropped; kept for an operator.
 */
export class EventStore1764201600000 implements MigrationInterface {
  name = 'EventStore1764201600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ledger_events (
        global_seq BIGSERIAL PRIMARY KEY,
        event_id UUID NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        version BIGINT NOT NULL CHECK (version >= 1),
        type TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount BIGINT NOT NULL,
        balance_after BIGINT NOT NULL,
        held_after BIGINT NOT NULL,
        reference_id TEXT NOT NULL,
        reservation_id TEXT NOT NULL,
        counterparty_account_id TEXT NOT NULL,
        payload JSONB NOT NULL,
        metadata JSONB NOT NULL,
        occurred_at TIMESTAMPTZ NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT ledger_events_account_version UNIQUE (account_id, version)
      )`);
    await queryRunner.query(`CREATE INDEX ledger_events_account_time ON ledger_events (account_id, occurred_at)`);
    await queryRunner.query(
      `CREATE INDEX ledger_events_reservation ON ledger_events (reservation_id) WHERE reservation_id <> ''`,
    );
    // Holds with an expiry, by expiry: after Redis lost its data, the accounts whose holds must
    // still expire are rebuilt at once instead of when something touches them.
    await queryRunner.query(
      `CREATE INDEX ledger_events_reserved_expiry ON ledger_events (((payload->>'expires_at_ms')::bigint))
        WHERE type = 'FUNDS_RESERVED'`,
    );
    await queryRunner.query(`
      CREATE TABLE ledger_idempotency (
        idempotency_key TEXT NOT NULL,
        account_id TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        version BIGINT NOT NULL,
        event_id UUID NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (idempotency_key, account_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE ledger_snapshots (
        account_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        state JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, version)
      )`);
    await queryRunner.query(`
      CREATE TABLE ledger_kafka_queue (
        global_seq BIGINT PRIMARY KEY,
        account_id TEXT NOT NULL,
        version BIGINT NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX ledger_kafka_queue_account ON ledger_kafka_queue (account_id, version)`);
    await queryRunner.query(`
      CREATE TABLE ledger_event_conflicts (
        event_id UUID PRIMARY KEY,
        account_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        entry JSONB NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ledger_event_conflicts`);
    await queryRunner.query(`DROP TABLE ledger_kafka_queue`);
    await queryRunner.query(`DROP TABLE ledger_snapshots`);
    await queryRunner.query(`DROP TABLE ledger_idempotency`);
    await queryRunner.query(`DROP TABLE ledger_events`);
  }
}
