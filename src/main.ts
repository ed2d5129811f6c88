import { createLedgerApp } from './bootstrap';
import { ConfigError, loadConfig } from './config/config';
import { telemetryFromEnv } from './infrastructure/observability/observability-options';

async function main(): Promise<void> {
  let config;
  let telemetry;
  try {
    config = loadConfig();
    telemetry = telemetryFromEnv();
  } catch (error) {
    if (error instanceof ConfigError) {
      // The logger is not up yet: a bad configuration is reported on stderr and stops the process.
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  await createLedgerApp(config, undefined, { telemetry });
}

void main();
