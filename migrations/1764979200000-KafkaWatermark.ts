import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Kafka publisher keeps a watermark instead of a queue: ledger_kafka_watermark holds one row,
 * the global_seq up to which every stored event has been acknowledged by Kafka (one UPDATE per
 * published batch, instead of an INSERT and a DELETE per event in ledger_kafka_queue). A restart
 * republishes the events after it. This only works if a smaller global_seq can never commit
 * after a larger one: the relay draws them under an advisory lock held until its commit (see
 * src/infrastructure/postgres/batch-append.ts), and the sequence must hand out values in the
 * order they are asked for (CACHE 1, the default, set here explicitly).
 *
 * Upgrade with a backlog: events still in the queue were never acknowledged by Kafka, every other
 * event was; the watermark starts just below the oldest queued one, so nothing is lost (events
 * between it and the newest published one go out again: at least once, consumers deduplicate on
 * event_id). The queue is locked first, so that a relay of the previous version still running
 * cannot queue an event after the watermark was computed (its next batch then fails on the
 * missing table until it is replaced). Dropping the table drops the vacuum settings of
 * KafkaQueueVacuum1764806400000 with it.
 *
 * Down: the queue (with its index and vacuum settings) is made again from the events after the
 * watermark. Stop this version's service first: its relay would store events without queueing
 * them.
 */
export class KafkaWatermark1764979200000 implements MigrationInterface {
  name = 'KafkaWatermark1764979200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ledger_kafka_watermark (
        singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
        published_seq BIGINT NOT NULL CHECK (published_seq >= 0),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`LOCK TABLE ledger_kafka_queue IN ACCESS EXCLUSIVE MODE`);
    await queryRunner.query(`
      INSERT INTO ledger_kafka_watermark (published_seq)
      SELECT coalesce((SELECT min(global_seq) - 1 FROM ledger_kafka_queue),
                      (SELECT max(global_seq) FROM ledger_events),
                      0)`);
    await queryRunner.query(`DROP TABLE ledger_kafka_queue`);
    await queryRunner.query(`ALTER SEQUENCE ledger_events_global_seq_seq CACHE 1`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ledger_kafka_queue (
        global_seq BIGINT PRIMARY KEY,
        account_id TEXT NOT NULL,
        version BIGINT NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX ledger_kafka_queue_account ON ledger_kafka_queue (account_id, version)`);
    await queryRunner.query(`
      ALTER TABLE ledger_kafka_queue SET (
        autovacuum_vacuum_scale_factor = 0,
        autovacuum_vacuum_threshold = 200,
        autovacuum_analyze_scale_factor = 0,
        autovacuum_analyze_threshold = 200,
        autovacuum_vacuum_cost_delay = 0
      )`);
    await queryRunner.query(`LOCK TABLE ledger_kafka_watermark IN ACCESS EXCLUSIVE MODE`);
    await queryRunner.query(`
      INSERT INTO ledger_kafka_queue (global_seq, account_id, version)
      SELECT global_seq, account_id, version FROM ledger_events
       WHERE global_seq > (SELECT published_seq FROM ledger_kafka_watermark)`);
    await queryRunner.query(`DROP TABLE ledger_kafka_watermark`);
  }
}
