import { Metadata } from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { grpcMetadataGetter, MAX_LINKS, tracingRegistered, withLinkedSpan } from './tracing';
import { startInMemorySdk } from './in-memory-sdk.test-support';

describe('tracing helpers', () => {
  const exporter = new InMemorySpanExporter();

  beforeAll(() => {
    expect(tracingRegistered()).toBe(false);
    startInMemorySdk(exporter);
  });
  beforeEach(() => exporter.reset());

  it('sees the registered SDK', () => {
    expect(tracingRegistered()).toBe(true);
  });

  it('withLinkedSpan: a span of its own trace, linked to each valid stored traceparent once', async () => {
    const a = `00-${'1'.repeat(32)}-${'a'.repeat(16)}-01`;
    const b = `00-${'2'.repeat(32)}-${'b'.repeat(16)}-00`;
    const result = await withLinkedSpan('relay.pg.insert', [a, '', 'garbage', b, a], async (span) => {
      span.setAttribute('inside', true);
      return 42;
    });
    expect(result).toBe(42);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('relay.pg.insert');
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
      ['1'.repeat(32), 'a'.repeat(16)],
      ['2'.repeat(32), 'b'.repeat(16)],
    ]);
    expect(span?.attributes).toMatchObject({ inside: true, 'ledger.linked_calls': 2 });
    expect(span?.spanContext().traceId).not.toBe('1'.repeat(32));
  });

  it('withLinkedSpan: bounded links, and ERROR when the work throws', async () => {
    const many = Array.from(
      { length: 300 },
      (_, i) => `00-${(i + 1).toString(16).padStart(32, '0')}-${'c'.repeat(16)}-01`,
    );
    await expect(
      withLinkedSpan('kafka.produce t', many, async () => {
        throw new Error('broker down');
      }),
    ).rejects.toThrow('broker down');
    const [span] = exporter.getFinishedSpans();
    expect(span?.links).toHaveLength(MAX_LINKS);
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('reads W3C context out of gRPC metadata', () => {
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${'3'.repeat(32)}-${'d'.repeat(16)}-01`);
    metadata.set('x-other', 'x');
    expect(grpcMetadataGetter.keys(metadata)).toEqual(expect.arrayContaining(['traceparent', 'x-other']));
    const extracted = propagation.extract(ROOT_CONTEXT, metadata, grpcMetadataGetter);
    const sc = trace.getSpanContext(extracted);
    expect(sc).toMatchObject({ traceId: '3'.repeat(32), spanId: 'd'.repeat(16), isRemote: true });
    expect(trace.getSpanContext(propagation.extract(ROOT_CONTEXT, new Metadata(), grpcMetadataGetter))).toBeUndefined();
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});
