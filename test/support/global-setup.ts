import { loadConfig } from '../../src/config/config';
import { createDataSource } from '../../src/infrastructure/postgres/data-source';

/** Brings the test database (LEDGER_DATABASE_URL) to the latest migration before any test runs. */
export default async function globalSetup(): Promise<void> {
  const dataSource = createDataSource(loadConfig(process.env).postgres);
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}
