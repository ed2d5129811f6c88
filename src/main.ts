import { Logger } from '@nestjs/common';
import { createLedgerApp } from './bootstrap';
import { loadConfig } from './config/config';
import { ConfigError } from './config/config-error';
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
  try {
    await createLedgerApp(config, undefined, { telemetry });
    // After both listeners are bound: the line `npm run dev` and operators wait for.
    new Logger('Ledger').log(
      `ledger ready: gRPC on ${config.grpc.address}, HTTP (/metrics, /health) on ${config.http.host}:${config.http.port}`,
    );
  } catch (error) {
    // A configuration found wrong while starting (e.g. Redis and Postgres of two deployments).
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

void main();
