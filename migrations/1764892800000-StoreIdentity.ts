import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ledger_store_identity: one row, a random id made when the event store is created. Redis holds
 * the state derived from exactly one event store; the relay binds its Redis to this id and
 * refuses to store events of a Redis bound to another store (two deployments sharing a Redis,
 * or a Redis left over from a database that was recreated).
 */
export class StoreIdentity1764892800000 implements MigrationInterface {
  name = 'StoreIdentity1764892800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ledger_store_identity (
        singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
        store_id UUID NOT NULL DEFAULT gen_random_uuid(),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`INSERT INTO ledger_store_identity DEFAULT VALUES`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ledger_store_identity`);
  }
}
