import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ledger_kafka_queue is a work queue: every event is inserted once and deleted once, so it is
 * mostly dead tuples unless vacuumed often, and the publisher scans it on every batch. With the
 * defaults (vacuum after 50 + 20% of the rows died) a reserve benchmark on this machine saw that
 * scan go from ~0.2 ms to ~4 ms per batch. Vacuum it after a fixed number of dead rows, without
 * the cost-based throttling (the table is small; a vacuum of it takes milliseconds). The launcher
 * checks tables every autovacuum_naptime (default 1 min): the dev stack sets 10 s, and a
 * production server should use a similar value (see README, Operations).
 */
export class KafkaQueueVacuum1764806400000 implements MigrationInterface {
  name = 'KafkaQueueVacuum1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE ledger_kafka_queue SET (
        autovacuum_vacuum_scale_factor = 0,
        autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0,
        autovacuum_vacuum_insert_threshold = 1000,
        autovacuum_analyze_scale_factor = 0,
        autovacuum_analyze_threshold = 1000,
        autovacuum_vacuum_cost_delay = 0
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE ledger_kafka_queue RESET (
        autovacuum_vacuum_scale_factor,
        autovacuum_vacuum_threshold,
        autovacuum_vacuum_insert_scale_factor,
        autovacuum_vacuum_insert_threshold,
        autovacuum_analyze_scale_factor,
        autovacuum_analyze_threshold,
        autovacuum_vacuum_cost_delay
      )`);
  }
}
