import { type SpanContext, SpanKind } from '@opentelemetry/api';
import { startNodeSdk } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * The OpenTelemetry Node SDK as src/instrumentation.ts starts it (W3C propagation, the
 * AsyncLocalStorage context manager, the sampler from OTEL_TRACES_SAMPLER*), but exporting to
 * memory. Call it before the app is created; one per test file (Jest gives each file its own globals).
 */
export function startInMemoryTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  startNodeSdk({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    resourceDetectors: [],
    logLevel: 'warn',
  });
  return exporter;
}

export interface SpanNode {
  name: string;
  kind: SpanKind;
  span: ReadableSpan;
  children: SpanNode[];
}

const idOf = (sc: SpanContext | undefined): string | undefined => sc?.spanId;

/** The spans of one trace as a tree (children in start order). */
export function treeOf(spans: readonly ReadableSpan[], traceId: string): SpanNode[] {
  const mine = spans.filter((s) => s.spanContext().traceId === traceId);
  const nodes = new Map(
    mine.map((s) => [s.spanContext().spanId, { name: s.name, kind: s.kind, span: s, children: [] as SpanNode[] }]),
  );
  const roots: SpanNode[] = [];
  const byStart = [...mine].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  for (const s of byStart) {
    const node = nodes.get(s.spanContext().spanId)!;
    const parent = nodes.get(idOf(s.parentSpanContext) ?? '');
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

/** A compact picture of a tree, e.g. ["ledger.v1.LedgerService/Reserve", ["ReserveFunds", ["validate", ...]]]. */
export function shapeOf(node: SpanNode): unknown {
  return node.children.length === 0 ? node.name : [node.name, node.children.map(shapeOf)];
}
