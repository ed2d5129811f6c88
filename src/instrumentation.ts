/**
 * OpenTelemetry, started before NestJS or @grpc/grpc-js are loaded. Preload it:
 *
 *   node --require ./dist/src/instrumentation.js dist/src/main.js      (npm run start:prod)
 *
 * Configuration: the standard OTEL_* variables (see startTracing). Without this preload the
 * service runs untraced (metrics and logs are unaffected).
 */
import { ConfigError } from './config/config-error';
import { startTracing } from './infrastructure/observability/tracing-sdk';

try {
  startTracing(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  throw error;
}
