import {
  type Attributes,
  type Context,
  isSpanContextValid,
  type Link,
  type SpanKind,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { startNodeSdk } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { ConfigError } from '../../config/config-error';

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

/**
 * The configured sampler plus one rule: a span with no parent that links to a sampled span is
 * sampled. The relay's batch span and the Kafka produce span are such roots (a batch serves many
 * calls and links to them); under OTEL_TRACES_SAMPLER=parentbased_traceidratio they would
 * otherwise be kept at the ratio, independently of the calls, and a sampled call's durable-ack
 * span would link to a batch span that was never recorded.
 */
export class LinkedRootSampler implements Sampler {
  constructor(private readonly delegate: Sampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(context);
    const isRoot = !parent || !isSpanContextValid(parent);
    if (isRoot && links.some((l) => (l.context.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `LinkedRootSampler{${this.delegate.toString()}}`;
  }
}

/** The sampler OTEL_TRACES_SAMPLER(_ARG) name (validated by validateTracingEnv), as the SDK would build it. */
export function samplerFromEnv(env: Env): Sampler {
  const arg = env['OTEL_TRACES_SAMPLER_ARG'];
  const ratio = arg === undefined || arg === '' ? 1 : Number(arg);
  switch (env['OTEL_TRACES_SAMPLER'] || 'parentbased_always_on') {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
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
 *                                       (wrapped in LinkedRootSampler: batch spans follow their calls)
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
    sampler: new LinkedRootSampler(samplerFromEnv(env)),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  return { started: true, shutdown: () => sdk.shutdown() };
}
