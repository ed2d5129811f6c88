import { randomBytes } from 'node:crypto';
import { Metadata, status } from '@grpc/grpc-js';
import { uid } from '../support/ledger-app';
import { expectFailure } from '../support/ledger-client';
import { BuiltService, buildService } from './support/built-service';
import { type JaegerSpan, type JaegerTrace, tag, TestJaeger } from './support/jaeger';
import { PrivateStack } from './support/private-stack';
import { waitFor } from './support/tools';

jest.setTimeout(180_000);

const SERVICE = 'ledger.v1.LedgerService';

/**
 * Traces end to end: the built service, started the production way (OTel SDK preloaded with
 * --require, OTLP over gRPC by the standard OTEL_* variables), sends its spans to a real
 * Jaeger v2; the test reads them back through Jaeger's query API. Sampling is parent-based with
 * a root ratio of 0: only the calls the test sends a sampled traceparent with are traced, and
 * the relay's batch spans (roots of their own traces) are recorded because they link to such a
 * call, not by chance.
 */
describe('observability: traces in a real Jaeger', () => {
  let stack: PrivateStack;
  let jaeger: TestJaeger;
  let service: BuiltService;
  const serviceName = `ledger-test-${randomBytes(3).toString('hex')}`;
  const account = uid('jaeger-acct');

  const okTrace = hex(16);
  const okParentSpan = hex(8);
  const rejectTrace = hex(16);
  let okTree: JaegerTrace;
  let rejectTree: JaegerTrace;

  beforeAll(async () => {
    buildService();
    stack = await PrivateStack.start();
    jaeger = await TestJaeger.start();
    service = await BuiltService.start({
      ...stack.env(),
      OTEL_SERVICE_NAME: serviceName,
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpGrpcEndpoint,
      // Spans leave in batches every 3 s; the last test shows SIGTERM flushes a pending batch.
      OTEL_BSP_SCHEDULE_DELAY: '3000',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
      LOG_LEVEL: 'info',
    });
    const c = service.client;
    await c.call('OpenAccount', { accountId: account, currency: 'USD' });
    await c.call('Deposit', {
      transactionId: uid('tx'),
      accountId: account,
      amount: { amount: '100.00', currency: 'USD' },
    });
    const ok = new Metadata();
    ok.set('traceparent', `00-${okTrace}-${okParentSpan}-01`);
    await c.call(
      'Reserve',
      {
        reservationId: uid('jaeger-res'),
        accountId: account,
        amount: { amount: '10.00', currency: 'USD' },
        ttlSeconds: 600,
      },
      ok,
    );
    const rejected = new Metadata();
    rejected.set('traceparent', `00-${rejectTrace}-${hex(8)}-01`);
    const failure = await expectFailure(
      c.call(
        'Reserve',
        { reservationId: uid('jaeger-res'), accountId: account, amount: { amount: '5000.00', currency: 'USD' } },
        rejected,
      ),
    );
    expect(failure.code).toBe(status.FAILED_PRECONDITION);
    // server span, ReserveFunds, validate, parse-money, redis.evalsha reserve, durable-ack, to-response
    okTree = await complete(okTrace, 7);
    rejectTree = await complete(rejectTrace, 2);
  });

  afterAll(async () => {
    await service?.stop();
    await jaeger?.stop();
    await stack?.stop();
  });

  /** Waits until Jaeger holds at least `spans` spans of the trace. */
  async function complete(traceId: string, spans: number): Promise<JaegerTrace> {
    return waitFor(`trace ${traceId} in Jaeger`, async () => {
      const trace = await jaeger.trace(traceId);
      return trace && trace.spans.length >= spans ? trace : undefined;
    });
  }

  it('holds the trace under the trace id the client sent in traceparent', () => {
    expect(okTree.traceID).toBe(okTrace);
    expect(okTree.spans.every((s) => s.traceID === okTrace)).toBe(true);
    expect(Object.values(okTree.processes).map((p) => p.serviceName)).toEqual([serviceName]);
  });

  it('has the span tree Reserve > ReserveFunds > validate, parse-money, redis.evalsha reserve, durable-ack, to-response', () => {
    const root = only(okTree, `${SERVICE}/Reserve`);
    // Its parent is the client's span (not in Jaeger: the client did not export it).
    expect(root.references).toEqual([{ refType: 'CHILD_OF', traceID: okTrace, spanID: okParentSpan }]);
    const command = childrenOf(okTree, root);
    expect(command.map((s) => s.operationName)).toEqual(['ReserveFunds']);
    const steps = childrenOf(okTree, command[0]!);
    const expected = ['validate', 'parse-money', 'redis.evalsha reserve', 'durable-ack', 'to-response'];
    expect(steps.map((s) => s.operationName).sort()).toEqual([...expected].sort());
    // The OTel JS SDK stamps a span's start with Date.now(), so steps begun within one millisecond
    // tie and Jaeger returns them in no particular order: the order is checked as start times that
    // never go backwards along the expected sequence.
    const starts = expected.map((name) => steps.find((s) => s.operationName === name)!.startTime);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });

  it('carries the rpc and Redis attributes', () => {
    const root = only(okTree, `${SERVICE}/Reserve`);
    expect(tag(root, 'span.kind')).toBe('server');
    expect(tag(root, 'rpc.system')).toBe('grpc');
    expect(tag(root, 'rpc.service')).toBe(SERVICE);
    expect(tag(root, 'rpc.method')).toBe('Reserve');
    expect(tag(root, 'rpc.grpc.status_code')).toBe(status.OK);
    expect(tag(root, 'error')).toBeUndefined();
    const script = only(okTree, 'redis.evalsha reserve');
    expect(tag(script, 'span.kind')).toBe('client');
    expect(tag(script, 'db.system.name')).toBe('redis');
    expect(tag(script, 'db.operation.name')).toBe('EVALSHA');
    expect(tag(script, 'ledger.script')).toBe('reserve');
    expect(tag(script, 'ledger.script.status')).toBe('OK');
  });

  it('marks a rejected Reserve as an error with its gRPC status and reason', () => {
    const root = only(rejectTree, `${SERVICE}/Reserve`);
    expect(tag(root, 'error')).toBe(true);
    expect(tag(root, 'otel.status_code')).toBe('ERROR');
    expect(tag(root, 'otel.status_description')).toBe('INSUFFICIENT_FUNDS');
    expect(tag(root, 'rpc.grpc.status_code')).toBe(status.FAILED_PRECONDITION);
    expect(tag(root, 'ledger.reason')).toBe('INSUFFICIENT_FUNDS');
    expect(tag(root, 'error.type')).toBe('INSUFFICIENT_FUNDS');
    const command = only(rejectTree, 'ReserveFunds');
    expect(tag(command, 'error')).toBe(true);
    expect(tag(only(rejectTree, 'redis.evalsha reserve'), 'ledger.script.status')).toBe('INSUFFICIENT_FUNDS');
  });

  it('links the relay Postgres insert and the Kafka produce to the call', async () => {
    const command = only(okTree, 'ReserveFunds');
    for (const operation of ['relay.pg.insert', `kafka.produce ${stack.topic}`]) {
      const linked = await waitFor(`${operation} linked to the Reserve`, async () => {
        const traces = await jaeger.search(serviceName, operation);
        const spans = traces.flatMap((t) => t.spans).filter((s) => s.operationName === operation);
        return spans.find((s) =>
          s.references.some(
            (r) => r.refType === 'FOLLOWS_FROM' && r.traceID === okTrace && r.spanID === command.spanID,
          ),
        );
      });
      // A span of its own trace (the batch serves many calls), not a child of the call.
      expect(linked.traceID).not.toBe(okTrace);
    }
  });

  it('explains the durable wait: durable-ack links to the relay batch that committed the event, whose trace holds its Kafka produce', async () => {
    const command = only(okTree, 'ReserveFunds');
    const wait = only(okTree, 'durable-ack');
    expect(wait.references.filter((r) => r.refType === 'CHILD_OF')).toEqual([
      { refType: 'CHILD_OF', traceID: okTrace, spanID: command.spanID },
    ]);
    expect(tag(wait, 'ledger.ack.mode')).toBe('durable');
    expect(tag(wait, 'ledger.ack.events')).toBe(1);
    expect(tag(wait, 'ledger.ack.batches')).toBe(1);
    const links = wait.references.filter((r) => r.refType === 'FOLLOWS_FROM');
    expect(links).toHaveLength(1);
    const [link] = links;
    // The batch's trace: its Postgres transaction, linked back to this call, and its Kafka produce.
    const batchTrace = await waitFor(`the relay batch trace ${link!.traceID}`, async () => {
      const trace = await jaeger.trace(link!.traceID);
      return trace?.spans.some((s) => s.operationName === `kafka.produce ${stack.topic}`) ? trace : undefined;
    });
    expect(link!.traceID).not.toBe(okTrace);
    const batch = batchTrace.spans.find((s) => s.spanID === link!.spanID);
    expect(batch?.operationName).toBe('relay.pg.insert');
    expect(batch?.references).toContainEqual({ refType: 'FOLLOWS_FROM', traceID: okTrace, spanID: command.spanID });
    expect(tag(batch!, 'ledger.batch_size')).toBeGreaterThanOrEqual(1);
    const produce = only(batchTrace, `kafka.produce ${stack.topic}`);
    expect(produce.references).toContainEqual({ refType: 'CHILD_OF', traceID: link!.traceID, spanID: link!.spanID });
    // In time: the wait began before the batch, and ended once it had committed. Each span's
    // clock is anchored to Date.now() (millisecond resolution) when it starts, so times of two
    // spans compare to within 1000 µs only.
    expect(batch!.startTime).toBeGreaterThanOrEqual(wait.startTime - 1000);
    expect(batch!.startTime + batch!.duration).toBeLessThanOrEqual(wait.startTime + wait.duration + 1000);
  });

  it('logs the rejected call once, as JSON on stdout, with the trace and span ids Jaeger holds', () => {
    const lines = service.json(); // throws if any stdout line is not JSON
    const root = only(rejectTree, `${SERVICE}/Reserve`);
    const forCall = lines.filter((l) => l['trace_id'] === rejectTrace);
    expect(forCall).toHaveLength(1);
    expect(forCall[0]).toMatchObject({
      level: 'info',
      rpc_method: 'Reserve',
      reason: 'INSUFFICIENT_FUNDS',
      grpc_code: 'FailedPrecondition',
      span_id: root.spanID,
    });
    expect(lines.filter((l) => l['trace_id'] === okTrace)).toEqual([]);
  });

  it('flushes the spans still queued when it is stopped (SIGTERM)', async () => {
    const traceId = hex(16);
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${hex(8)}-01`);
    await service.client.call('GetAccount', { accountId: account }, metadata);
    // Stopped at once, well before the next scheduled export: it stops by itself (no SIGKILL).
    expect(['SIGTERM', '0']).toContain(await service.stop());
    const trace = await complete(traceId, 1);
    expect(trace.spans.map((s) => s.operationName)).toEqual([`${SERVICE}/GetAccount`]);
  });
});

function only(trace: JaegerTrace, operation: string): JaegerSpan {
  const spans = trace.spans.filter((s) => s.operationName === operation);
  if (spans.length !== 1) throw new Error(`${spans.length} spans named ${operation} in ${trace.traceID}`);
  return spans[0]!;
}

function childrenOf(trace: JaegerTrace, parent: JaegerSpan): JaegerSpan[] {
  return trace.spans
    .filter((s) => s.references.some((r) => r.refType === 'CHILD_OF' && r.spanID === parent.spanID))
    .sort((a, b) => a.startTime - b.startTime);
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
