import { startNodeSdk } from '@opentelemetry/sdk-node';
import { ConfigError } from '../../config/config';

type Env = Record<string, string | undefined>;

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/** Checks the OTEL_* variables the SDK would otherwise silently replace by defaults. */
export function validateTracingEnv(env: Env): void {
  const sampler = env['OTEL_TRACES_SAMPLER'];
  if (sampler !== undefined && sampler !== '' && !SAMPLERS.includes(sampler)) {
    throw new ConfigError('OTEL_TRACES_SAMPLER', `must be one of ${SAMPLERS.join(', ')}, got "${sampler}"`);
  }
  const arg = env['OTEL_TRACES_SAMPLER_ARG'];
  if (sampler?.endsWith('traceidratio') && arg !== undefined && arg !== '') {
    const ratio = Number(arg);
    if (!/^[0-9.eE+-]+$/.test(arg) || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', `must be a ratio between 0 and 1, got "${arg}"`);
    }
  }
}

export interface StartedTracing {
  /** false: OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none */
  started: boolean;
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK for traces only (metrics are Prometheus's, logs pino's),
 * configured by the standard variables:
 *   OTEL_SDK_DISABLED=true              no SDK, no spans (the service then creates none)
 *   OTEL_SERVICE_NAME                   default "ledger"
 *   OTEL_EXPORTER_OTLP_ENDPOINT         (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) default http://localhost:4317
 *   OTEL_EXPORTER_OTLP_PROTOCOL         default here: grpc (http/protobuf and http/json work too)
 *   OTEL_TRACES_EXPORTER                otlp (default), console or none
 *   OTEL_TRACES_SAMPLER(_ARG)           default parentbased_always_on; e.g. parentbased_traceidratio + 0.1
 *   OTEL_PROPAGATORS                    default tracecontext,baggage (W3C)
 *   OTEL_BSP_*                          batch span processor (queue bound, delay, batch size)
 *   OTEL_LOG_LEVEL                      the SDK's own diagnostics; default warn (warn and error go to
 *                                       stderr, so that stdout carries only JSON log lines)
 * No auto-instrumentation is registered: the service makes its own spans (gRPC server, command,
 * steps, Redis, relay), which also work where require hooks do not (Jest).
 */
export function startTracing(env: Env = process.env): StartedTracing {
  validateTracingEnv(env);
  const disabled = ['true', '1'].includes((env['OTEL_SDK_DISABLED'] ?? '').toLowerCase());
  if (disabled || (env['OTEL_TRACES_EXPORTER'] ?? '').split(',').includes('none')) {
    return { started: false, shutdown: async () => undefined };
  }
  if (!env['OTEL_EXPORTER_OTLP_PROTOCOL'] && !env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] = 'grpc';
  }
  const sdk = startNodeSdk({
    logLevel: env['OTEL_LOG_LEVEL'] ?? 'warn',
    resourceAttributes: { 'service.name': env['OTEL_SERVICE_NAME'] || 'ledger' },
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  return { started: true, shutdown: () => sdk.shutdown() };
}
