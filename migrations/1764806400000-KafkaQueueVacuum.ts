import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ledger_kafka_queue is a work queue: every event is inserted once and deleted once, and the
 * publisher scans it on every batch. By default autovacuum waits for 50 + 20% of the table's rows
 * to be dead, which after a backlog (Kafka down for a while, 100k queued rows) means 20k dead rows
 * scanned by every batch while it drains. Vacuum it after a fixed 200 dead rows instead, without
 * the cost-based throttling (the table is small; vacuuming it takes milliseconds). The launcher
 * looks at tables every autovacuum_naptime (default 1 min): the dev stack sets 10 s, and a
 * production server should use a similar value (see README).
 */
export class KafkaQueueVacuum1764806400000 implements MigrationInterface {
  name = 'KafkaQueueVacuum1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE ledger_kafka_queue SET (
        autovacuum_vacuum_scale_factor = 0,
        autovacuum_vacuum_threshold = 200,
        autovacuum_analyze_scale_factor = 0,
        autovacuum_analyze_threshold = 200,
        autovacuum_vacuum_cost_delay = 0
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE ledger_kafka_queue RESET (
        autovacuum_vacuum_scale_factor,
        autovacuum_vacuum_threshold,
        autovacuum_analyze_scale_factor,
        autovacuum_analyze_threshold,
        autovacuum_vacuum_cost_delay
      )`);
  }
}
