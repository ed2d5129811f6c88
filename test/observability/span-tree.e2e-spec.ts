import { Metadata, status } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace';
import { Client } from 'pg';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import type { Reply } from '../support/ledger-client';
import { type SpanNode, shapeOf, startInMemoryTracing, treeOf } from './support/in-memory-tracing';
import { PrivateStack } from './support/private-stack';

/**
 * The span tree of every command, exported to memory by the real OTel SDK while the real app
 * serves real gRPC calls against Redis and Postgres:
 *   ledger.v1.LedgerService/<Method> (SERVER) > <Command> > validate, parse-money,
 *   redis.evalsha <script>..., durable-ack, to-response
 * and the spans a durable call's wait leads to: durable-ack links to the relay batch span
 * (relay.pg.insert) that committed its event, which links back to the call and holds the Kafka
 * produce of the batch as its child.
 */
const SERVICE = 'ledger.v1.LedgerService';

describe('observability: span tree of each command (in-memory exporter)', () => {
  let exporter: InMemorySpanExporter;
  let stack: PrivateStack;
  let ledger: RunningLedger;

  beforeAll(async () => {
    exporter = startInMemoryTracing();
    stack = await PrivateStack.start();
    ledger = await startLedger(stack.env());
  });
  afterAll(async () => {
    await ledger?.close();
    await stack?.stop();
  });

  /** Makes the call with a fresh client trace and returns the spans of that trace as a tree. */
  async function traced(method: string, request: object): Promise<{ reply?: Reply; error?: unknown; root: SpanNode }> {
    const traceId = randomHex(32);
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${randomHex(16)}-01`);
    let reply: Reply | undefined;
    let error: unknown;
    try {
      reply = await ledger.client.call(method, request, metadata);
    } catch (e) {
      error = e;
    }
    const roots = await eventually(() => {
      const tree = treeOf(exporter.getFinishedSpans(), traceId);
      return tree.length === 1 && tree[0]?.span.ended ? tree : undefined;
    });
    return { reply, error, root: roots[0]! };
  }

  /** The names under the command span, in start order. */
  function stepsOf(root: SpanNode, method: string, command: string): SpanNode {
    expect(root.name).toBe(`${SERVICE}/${method}`);
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(root.span.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': SERVICE, 'rpc.method': method });
    expect(root.children.map((c) => c.name)).toEqual([command]);
    const commandSpan = root.children[0]!;
    expect(commandSpan.kind).toBe(SpanKind.INTERNAL);
    return commandSpan;
  }

  function expectSubsequence(actual: readonly string[], expected: readonly string[]): void {
    let i = 0;
    for (const name of actual) if (name === expected[i]) i++;
    if (i !== expected.length) {
      throw new Error(`expected ${JSON.stringify(expected)} in order within ${JSON.stringify(actual)}`);
    }
  }

  const account = uid('span-acct');
  const other = uid('span-other');
  const reservation = uid('span-res');

  const cases: [string, string, () => object, string[]][] = [
    [
      'OpenAccount',
      'OpenAccount',
      () => ({ accountId: account, currency: 'USD' }),
      ['validate', 'parse-money', 'redis.evalsha open_account', 'durable-ack', 'to-response'],
    ],
    [
      'OpenAccount',
      'OpenAccount',
      () => ({ accountId: other, currency: 'USD' }),
      ['validate', 'parse-money', 'redis.evalsha open_account', 'durable-ack', 'to-response'],
    ],
    [
      'Deposit',
      'DepositFunds',
      () => ({ transactionId: uid('tx'), accountId: account, amount: { amount: '100.00', currency: 'USD' } }),
      ['validate', 'parse-money', 'redis.evalsha deposit', 'durable-ack', 'to-response'],
    ],
    [
      'Withdraw',
      'WithdrawFunds',
      () => ({ transactionId: uid('tx'), accountId: account, amount: { amount: '1.00', currency: 'USD' } }),
      ['validate', 'parse-money', 'redis.evalsha withdraw', 'durable-ack', 'to-response'],
    ],
    [
      'Transfer',
      'TransferFunds',
      () => ({
        transactionId: uid('tx'),
        fromAccountId: account,
        toAccountId: other,
        amount: { amount: '2.00', currency: 'USD' },
      }),
      ['validate', 'parse-money', 'redis.evalsha transfer', 'durable-ack', 'to-response'],
    ],
    [
      'Reserve',
      'ReserveFunds',
      () => ({
        reservationId: reservation,
        accountId: account,
        amount: { amount: '30.00', currency: 'USD' },
        ttlSeconds: 3600,
      }),
      ['validate', 'parse-money', 'redis.evalsha reserve', 'durable-ack', 'to-response'],
    ],
    [
      'AmendReservation',
      'AmendReservation',
      () => ({ reservationId: reservation, amendId: 'a1', newAmount: { amount: '40.00', currency: 'USD' } }),
      ['validate', 'parse-money', 'redis.evalsha amend_reservation', 'durable-ack', 'to-response'],
    ],
    [
      'CommitReservation',
      'CommitReservation',
      () => ({ reservationId: reservation, commitId: 'c1', amount: { amount: '10.00', currency: 'USD' } }),
      ['validate', 'parse-money', 'redis.evalsha commit_reservation', 'durable-ack', 'to-response'],
    ],
    [
      'ReleaseReservation',
      'ReleaseReservation',
      () => ({ reservationId: reservation, reason: 'done' }),
      ['validate', 'redis.evalsha release_reservation', 'durable-ack', 'to-response'],
    ],
    [
      'FreezeAccount',
      'FreezeAccount',
      () => ({ accountId: other, reason: 'check' }),
      ['validate', 'redis.evalsha change_account_status', 'durable-ack', 'to-response'],
    ],
    [
      'UnfreezeAccount',
      'UnfreezeAccount',
      () => ({ accountId: other, reason: 'ok' }),
      ['validate', 'redis.evalsha change_account_status', 'durable-ack', 'to-response'],
    ],
  ];

  it.each(cases)('%s: server span > %s > its steps', async (method, command, request, steps) => {
    const { error, root } = await traced(method, request());
    expect(error).toBeUndefined();
    const commandSpan = stepsOf(root, method, command);
    expectSubsequence(
      commandSpan.children.map((c) => c.name),
      steps,
    );
    // Every step is a leaf; the Redis calls are CLIENT spans that name their script.
    for (const child of commandSpan.children) {
      expect(child.children).toEqual([]);
      if (child.name.startsWith('redis.evalsha ')) {
        expect(child.kind).toBe(SpanKind.CLIENT);
        expect(child.span.attributes).toMatchObject({
          'db.system.name': 'redis',
          'db.operation.name': 'EVALSHA',
          'ledger.script': child.name.slice('redis.evalsha '.length),
        });
      }
    }
    expect(root.span.attributes['rpc.grpc.status_code']).toBe(status.OK);
    expect(root.span.status.code).toBe(SpanStatusCode.UNSET);
    expect(allSpans(root).every((s) => s.ended)).toBe(true);
  });

  it('CloseAccount: server span > CloseAccount > validate, redis.evalsha change_account_status, to-response', async () => {
    const empty = uid('span-empty');
    await ledger.client.call('OpenAccount', { accountId: empty, currency: 'USD' });
    const { error, root } = await traced('CloseAccount', { accountId: empty, reason: 'bye' });
    expect(error).toBeUndefined();
    expect(shapeOf(root)).toEqual([
      `${SERVICE}/CloseAccount`,
      [['CloseAccount', ['validate', 'redis.evalsha change_account_status', 'durable-ack', 'to-response']]],
    ]);
  });

  it('a business reject: ERROR on the server and command spans with the reason and the gRPC code', async () => {
    const { error, root } = await traced('Reserve', {
      reservationId: uid('span-res'),
      accountId: account,
      amount: { amount: '999999.00', currency: 'USD' },
    });
    expect(error).toBeDefined();
    const commandSpan = stepsOf(root, 'Reserve', 'ReserveFunds');
    for (const span of [root.span, commandSpan.span]) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'INSUFFICIENT_FUNDS' });
      expect(span.attributes).toMatchObject({
        'ledger.reason': 'INSUFFICIENT_FUNDS',
        'error.type': 'INSUFFICIENT_FUNDS',
      });
    }
    expect(root.span.attributes['rpc.grpc.status_code']).toBe(status.FAILED_PRECONDITION);
    const script = commandSpan.children.find((c) => c.name === 'redis.evalsha reserve');
    expect(script?.span.attributes['ledger.script.status']).toBe('INSUFFICIENT_FUNDS');
    // A reject is not a fault: no exception event.
    expect(root.span.events.filter((e) => e.name === 'exception')).toEqual([]);
    expect(commandSpan.children.map((c) => c.name)).not.toContain('to-response');
    // Nothing was appended: nothing to wait for.
    expect(commandSpan.children.map((c) => c.name)).not.toContain('durable-ack');
  });

  it('durable-ack: the wait for Postgres under the command span, linked to the relay batch that committed the event', async () => {
    const { reply, root } = await traced('Deposit', {
      transactionId: uid('tx'),
      accountId: account,
      amount: { amount: '3.00', currency: 'USD' },
    });
    const commandSpan = stepsOf(root, 'Deposit', 'DepositFunds');
    const names = commandSpan.children.map((c) => c.name);
    // After the Redis script, before the reply is built; a leaf of the command span.
    expect(names.slice(names.indexOf('redis.evalsha deposit'))).toEqual([
      'redis.evalsha deposit',
      'durable-ack',
      'to-response',
    ]);
    const wait = commandSpan.children.find((c) => c.name === 'durable-ack')!;
    expect(wait.kind).toBe(SpanKind.INTERNAL);
    expect(wait.span.status.code).toBe(SpanStatusCode.UNSET);
    expect(wait.span.attributes).toMatchObject({
      'ledger.ack.mode': 'durable',
      'ledger.ack.events': 1,
      'ledger.ack.batches': 1,
    });
    expect(['notified', 'stored']).toContain(wait.span.attributes['ledger.ack.via']);
    // The link names the relay's batch span: its own trace, linked back to this call, ended
    // (committed) before the wait did.
    expect(wait.span.links).toHaveLength(1);
    const batchContext = wait.span.links[0]!.context;
    const batch = await eventually(() =>
      exporter.getFinishedSpans().find((s) => s.spanContext().spanId === batchContext.spanId),
    );
    expect(batch.name).toBe('relay.pg.insert');
    expect(batch.spanContext().traceId).toBe(batchContext.traceId);
    expect(batch.spanContext().traceId).not.toBe(commandSpan.span.spanContext().traceId);
    expect(batch.links.map((l) => l.context.spanId)).toContain(commandSpan.span.spanContext().spanId);
    // Two spans' times are comparable to within CLOCK_SKEW_MS only (see there).
    expect(hrMs(batch.endTime)).toBeLessThanOrEqual(hrMs(wait.span.endTime) + CLOCK_SKEW_MS);
    expect(hrMs(batch.startTime)).toBeGreaterThanOrEqual(hrMs(commandSpan.span.startTime) - CLOCK_SKEW_MS);
    // The batch's Kafka produce is its child (same trace), linked to the call as well (or, when
    // one request carries several relay batches, a child of the first, linked to the others).
    const produce = await eventually(() =>
      exporter
        .getFinishedSpans()
        .find(
          (s) =>
            s.name === `kafka.produce ${stack.topic}` &&
            (s.parentSpanContext?.spanId === batchContext.spanId ||
              s.links.some((l) => l.context.spanId === batchContext.spanId)),
        ),
    );
    if (produce.parentSpanContext?.spanId === batchContext.spanId) {
      expect(produce.spanContext().traceId).toBe(batchContext.traceId);
    }
    expect(produce.links.map((l) => l.context.spanId)).toContain(commandSpan.span.spanContext().spanId);
    expect(reply?.['replayed']).toBe(false);
  });

  it('durable-ack of a replay: the original event is stored already, so the wait ends at once', async () => {
    const request = { transactionId: uid('tx'), accountId: account, amount: { amount: '1.00', currency: 'USD' } };
    await ledger.client.call('Deposit', request);
    const { reply, root } = await traced('Deposit', request);
    expect(reply?.['replayed']).toBe(true);
    const wait = stepsOf(root, 'Deposit', 'DepositFunds').children.find((c) => c.name === 'durable-ack');
    expect(wait?.span.attributes['ledger.ack.via']).toBe('stored');
  });

  it('a rejected validation: the validate span fails and no Redis call is made', async () => {
    const { error, root } = await traced('Reserve', {
      reservationId: '',
      accountId: account,
      amount: { amount: '1.00', currency: 'USD' },
    });
    expect((error as { code: number }).code).toBe(status.INVALID_ARGUMENT);
    const commandSpan = stepsOf(root, 'Reserve', 'ReserveFunds');
    expect(commandSpan.children.map((c) => c.name)).toEqual(['validate']);
    expect(commandSpan.children[0]!.span.status.code).toBe(SpanStatusCode.ERROR);
    expect(commandSpan.children[0]!.span.attributes['ledger.reason']).toBe('INVALID_ARGUMENT');
    expect(root.span.attributes['rpc.grpc.status_code']).toBe(status.INVALID_ARGUMENT);
  });

  it('continues the caller trace: same trace id, the server span is a child of the caller span', async () => {
    const traceId = randomHex(32);
    const parentSpanId = randomHex(16);
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${parentSpanId}-01`);
    await ledger.client.call('GetAccount', { accountId: account }, metadata);
    const roots = await eventually(() => {
      const tree = treeOf(exporter.getFinishedSpans(), traceId);
      return tree.length === 1 ? tree : undefined;
    });
    const server = roots[0]!.span;
    expect(server.name).toBe(`${SERVICE}/GetAccount`);
    expect(server.spanContext().traceId).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(server.parentSpanContext?.isRemote).toBe(true);
  });

  it('honours the caller sampling decision (parent-based): an unsampled caller gets no spans', async () => {
    const traceId = randomHex(32);
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${randomHex(16)}-00`);
    await ledger.client.call('GetAccount', { accountId: account }, metadata);
    // A sampled call made after it is exported; by then the unsampled one would have been too.
    await traced('GetAccount', { accountId: account });
    expect(exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)).toEqual([]);
  });

  it('stores the call traceparent with its events (for the relay and Kafka to link to)', async () => {
    const { reply, root } = await traced('Deposit', {
      transactionId: uid('tx'),
      accountId: account,
      amount: { amount: '1.00', currency: 'USD' },
    });
    const pg = new Client({ connectionString: stack.databaseUrl });
    await pg.connect();
    try {
      const stored = await eventually(async () => {
        const result = await pg.query<{ traceparent: string }>(
          `SELECT metadata->>'traceparent' AS traceparent FROM ledger_events WHERE account_id = $1 AND version = $2`,
          [account, Number(reply?.account.version)],
        );
        return result.rows[0]?.traceparent;
      });
      const commandSpan = root.children[0]!.span.spanContext();
      expect(stored).toBe(`00-${commandSpan.traceId}-${commandSpan.spanId}-01`);
    } finally {
      await pg.end();
    }
  });
});

/**
 * The SDK anchors each span's clock to Date.now() when the span starts (Span's performance
 * offset), and Date.now() has millisecond resolution: the times of two different spans can be
 * off by up to 1 ms against each other (CI saw a batch that ended, in code, before the wait was
 * woken, stamped 0.23 ms after the wait's end). Orderings across spans are checked to that.
 */
const CLOCK_SKEW_MS = 1;

function hrMs(time: [number, number]): number {
  return time[0] * 1000 + time[1] / 1e6;
}

function allSpans(node: SpanNode): ReadableSpan[] {
  return [node.span, ...node.children.flatMap(allSpans)];
}

function randomHex(length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(Math.random() * 16).toString(16);
  return out.replace(/^0+$/, '1'.repeat(length));
}

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
