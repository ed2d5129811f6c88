import {
  type Attributes,
  type Context,
  context,
  type Link,
  ProxyTracerProvider,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
  TraceFlags,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';

/**
 * The service's view of OpenTelemetry tracing. The SDK itself is started before Nest loads
 * (src/instrumentation.ts); this only reads the global API. When no SDK is registered (the
 * process was started without the preload, or OTEL_SDK_DISABLED=true) `enabled` is false and
 * the service creates no spans at all, so that tracing off costs nothing per call.
 */
export class Tracing {
  constructor(
    readonly tracer: Tracer,
    readonly enabled: boolean,
  ) {}

  /** A span is worth starting only under a recording parent (parent-based sampling). */
  parentIfRecording(ctx: Context = context.active()): Span | undefined {
    if (!this.enabled) return undefined;
    const parent = trace.getSpan(ctx);
    return parent?.isRecording() ? parent : undefined;
  }
}

/** True when an SDK tracer provider is registered globally (not the API's no-op). */
export function tracingRegistered(provider: TracerProvider = trace.getTracerProvider()): boolean {
  if (provider instanceof ProxyTracerProvider) return provider.getDelegateTracer('ledger-probe') !== undefined;
  return true;
}

/** Flushes spans still queued in the batch processor (on shutdown); bounded by the exporter's timeout. */
export async function flushTraces(): Promise<void> {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  const flushable = delegate as TracerProvider & { forceFlush?: () => Promise<void> };
  if (typeof flushable.forceFlush === 'function') await flushable.forceFlush();
}

/** Reads W3C trace context (traceparent, tracestate, baggage) out of gRPC metadata. */
interface MetadataLike {
  get(key: string): unknown[];
  getMap(): Record<string, unknown>;
}

export const grpcMetadataGetter: TextMapGetter<MetadataLike | undefined> = {
  get(carrier, key) {
    const values = carrier?.get(key) ?? [];
    const strings = values.filter((v): v is string => typeof v === 'string');
    if (strings.length === 0) return undefined;
    return strings.length === 1 ? strings[0] : strings;
  },
  keys(carrier) {
    return carrier ? Object.keys(carrier.getMap()) : [];
  },
};

/** Marks a span failed: status ERROR with the reason code, and the exception for faults. */
export function recordFailure(span: Span, reason: string, error: unknown, fault: boolean): void {
  span.setAttribute('error.type', reason);
  span.setAttribute('ledger.reason', reason);
  if (fault && error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
}

/** Most links one span carries (OTel's default span link limit). */
export const MAX_LINKS = 128;

/**
 * Links to the spans named by W3C traceparents: invalid, empty and repeated ones skipped, sampled
 * ones first (an unsampled span is in no backend, a link to it shows nothing), at most `max`.
 */
export function linksOf(traceparents: readonly string[], max = MAX_LINKS): Link[] {
  const sampled: Link[] = [];
  const unsampled: Link[] = [];
  const seen = new Set<string>();
  for (const traceparent of traceparents) {
    if (sampled.length >= max) break;
    if (!traceparent || seen.has(traceparent)) continue;
    seen.add(traceparent);
    const spanContext = parseTraceParent(traceparent);
    if (!spanContext) continue;
    const link = { context: { ...spanContext, isRemote: true } };
    if ((spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED) sampled.push(link);
    else unsampled.push(link);
  }
  return [...sampled, ...unsampled].slice(0, max);
}

/** The W3C traceparent of a recording span ("" for a span that is not recorded: nothing to link to). */
export function traceparentOf(span: Span): string {
  if (!span.isRecording()) return '';
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Runs `fn` inside a new span linked to the work it serves, given stored W3C traceparents (the
 * relay's Postgres insert links to the calls of its batch, the Kafka produce to the calls of its
 * events: one batch holds events of many calls, so the batch span cannot be a child of each; it
 * links to them). See linksOf for which links are kept. The span is a child of `parent` (a
 * traceparent: the Kafka produce of a relay batch is a child of that batch's span) or of the
 * active span if any, else the root of its own trace (LinkedRootSampler samples such a root
 * whenever one of its links is sampled). It ends when `fn` settles (ERROR if it throws).
 */
export async function withLinkedSpan<T>(
  name: string,
  traceparents: readonly string[],
  fn: (span: Span) => Promise<T>,
  options: { attributes?: Attributes; kind?: SpanKind; tracer?: Tracer; parent?: string } = {},
): Promise<T> {
  const tracer = options.tracer ?? trace.getTracer('ledger');
  const links = linksOf(traceparents);
  const parent = options.parent ? parseTraceParent(options.parent) : null;
  const active = context.active();
  const span = tracer.startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      links,
      attributes: { ...options.attributes, 'ledger.linked_calls': links.length },
    },
    parent ? trace.setSpanContext(active, { ...parent, isRemote: true }) : active,
  );
  try {
    const result = await context.with(trace.setSpan(active, span), () => fn(span));
    span.end();
    return result;
  } catch (error) {
    recordFailure(span, error instanceof Error ? error.name : 'error', error, true);
    span.end();
    throw error;
  }
}
