import { Metadata } from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { grpcMetadataGetter, linksOf, MAX_LINKS, traceparentOf, tracingRegistered, withLinkedSpan } from './tracing';
import { OutboxTelemetry } from './persistence-telemetry';
import { LedgerMetrics } from './ledger-metrics';
import { Tracing } from './tracing';
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

  it('linksOf: sampled spans first (an unsampled one is in no backend), still bounded', () => {
    const unsampled = Array.from({ length: 3 }, (_, i) => `00-${String(i + 1).repeat(32)}-${'a'.repeat(16)}-00`);
    const sampled = `00-${'9'.repeat(32)}-${'b'.repeat(16)}-01`;
    expect(linksOf([...unsampled, sampled]).map((l) => l.context.traceId[0])).toEqual(['9', '1', '2', '3']);
    expect(linksOf([...unsampled, sampled], 2).map((l) => l.context.traceId[0])).toEqual(['9', '1']);
  });

  it('withLinkedSpan with a parent: a child of that (remote) span, in its trace; traceparentOf names it', async () => {
    const parent = `00-${'4'.repeat(32)}-${'e'.repeat(16)}-01`;
    let inside = '';
    await withLinkedSpan(
      'kafka.produce t',
      [`00-${'5'.repeat(32)}-${'f'.repeat(16)}-01`],
      async (span) => {
        inside = traceparentOf(span);
      },
      { parent },
    );
    const [span] = exporter.getFinishedSpans();
    expect(span?.spanContext().traceId).toBe('4'.repeat(32));
    expect(span?.parentSpanContext?.spanId).toBe('e'.repeat(16));
    expect(inside).toBe(`00-${'4'.repeat(32)}-${span?.spanContext().spanId}-01`);
    expect(
      traceparentOf(trace.wrapSpanContext({ traceId: '6'.repeat(32), spanId: '7'.repeat(16), traceFlags: 1 })),
    ).toBe('');
  });

  it('durableAck: a durable-ack span under the active (sampled) span, linked to the batches the wait reports', async () => {
    const tracing = new Tracing(trace.getTracer('test'), true);
    const telemetry = new OutboxTelemetry(new LedgerMetrics(), tracing);
    const batch = `00-${'8'.repeat(32)}-${'c'.repeat(16)}-01`;
    const command = tracing.tracer.startSpan('DepositFunds');
    await context.with(trace.setSpan(context.active(), command), () =>
      telemetry.durableAck(2, async () => ({ batches: [batch], via: 'notified' })),
    );
    await expect(
      context.with(trace.setSpan(context.active(), command), () =>
        telemetry.durableAck(1, async () => {
          throw Object.assign(new Error('late'), { reason: 'DEPENDENCY_UNAVAILABLE' });
        }),
      ),
    ).rejects.toThrow('late');
    command.end();
    // Without a recording parent (an unsampled call, or none): no span at all.
    await telemetry.durableAck(1, async () => ({ batches: [batch], via: 'stored' }));
    const waits = exporter.getFinishedSpans().filter((s) => s.name === 'durable-ack');
    expect(waits).toHaveLength(2);
    const [ok, failed] = waits;
    expect(ok?.parentSpanContext?.spanId).toBe(command.spanContext().spanId);
    expect(ok?.links.map((l) => l.context.spanId)).toEqual(['c'.repeat(16)]);
    expect(ok?.attributes).toMatchObject({
      'ledger.ack.mode': 'durable',
      'ledger.ack.events': 2,
      'ledger.ack.via': 'notified',
      'ledger.ack.batches': 1,
    });
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
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
