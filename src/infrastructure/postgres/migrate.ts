import { loadConfig } from '../../config/config';
import { ConfigError } from '../../config/config-error';
import { createDataSource } from './data-source';

/**
 * `npm run migrate [-- --revert]`: applies pending migrations (or reverts the last one) to the
 * database of LEDGER_DATABASE_URL, then exits.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const dataSource = createDataSource(config.postgres);
  await dataSource.initialize();
  try {
    if (process.argv.includes('--revert')) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      process.stdout.write('reverted the last migration\n');
    } else {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      process.stdout.write(
        `applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ') || 'none'}\n`,
      );
    }
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
