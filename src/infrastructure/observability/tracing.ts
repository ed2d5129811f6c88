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
 * Runs `fn` inside a new span linked to the calls that produced the work, given their stored
 * W3C traceparents (the relay's Postgres insert and the Kafka produce use this: one batch holds
 * events of many calls, so the batch span cannot be a child of each; it links to them). Invalid
 * or empty traceparents are skipped; at most MAX_LINKS links are kept. The span is a root of its
 * own trace unless a span is already active, and ends when `fn` settles (ERROR if it throws).
 */
export async function withLinkedSpan<T>(
  name: string,
  traceparents: readonly string[],
  fn: (span: Span) => Promise<T>,
  options: { attributes?: Attributes; kind?: SpanKind; tracer?: Tracer } = {},
): Promise<T> {
  const tracer = options.tracer ?? trace.getTracer('ledger');
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const traceparent of traceparents) {
    if (links.length >= MAX_LINKS) break;
    if (!traceparent || seen.has(traceparent)) continue;
    seen.add(traceparent);
    const spanContext = parseTraceParent(traceparent);
    if (spanContext) links.push({ context: { ...spanContext, isRemote: true } });
  }
  const span = tracer.startSpan(name, {
    kind: options.kind ?? SpanKind.INTERNAL,
    links,
    attributes: { ...options.attributes, 'ledger.linked_calls': links.length },
  });
  try {
    const result = await context.with(trace.setSpan(context.active(), span), () => fn(span));
    span.end();
    return result;
  } catch (error) {
    recordFailure(span, error instanceof Error ? error.name : 'error', error, true);
    span.end();
    throw error;
  }
}
