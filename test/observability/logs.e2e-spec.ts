import { Writable } from 'node:stream';
import { Metadata, status } from '@grpc/grpc-js';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { createLedgerApp, type LedgerApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { freePort, uid } from '../support/ledger-app';
import { expectFailure, LedgerClient } from '../support/ledger-client';
import { startInMemoryTracing } from './support/in-memory-tracing';
import { PrivateStack } from './support/private-stack';

/** Every line the app writes, parsed: the log destination is this stream instead of stdout. */
class CapturedLines extends Writable {
  readonly raw: string[] = [];
  override _write(chunk: Buffer | string, _encoding: string, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.raw.push(line);
    done();
  }
  get lines(): Record<string, unknown>[] {
    return this.raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/**
 * Logs: JSON lines with level, time, msg, trace_id, span_id, rpc method and reason; one line
 * per failed call (info for a business reject, error for a fault), none for a successful call
 * at info. Its private Redis lets the test take it away for the fault.
 */
describe('observability: logs (pino JSON, one line per failed call)', () => {
  let exporter: InMemorySpanExporter;
  let stack: PrivateStack;
  let app: LedgerApp;
  let client: LedgerClient;
  const captured = new CapturedLines();
  const account = uid('log-acct');

  beforeAll(async () => {
    exporter = startInMemoryTracing();
    stack = await PrivateStack.start();
    const config = loadConfig({
      ...process.env,
      LEDGER_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`,
      LEDGER_HTTP_PORT: String(await freePort()),
      ...stack.env(),
      LOG_LEVEL: 'info',
    });
    app = await createLedgerApp(config, undefined, { logDestination: captured });
    client = new LedgerClient(config.grpc.address);
    await client.call('OpenAccount', { accountId: account, currency: 'USD' });
    await client.call('Deposit', {
      transactionId: uid('tx'),
      accountId: account,
      amount: { amount: '100.00', currency: 'USD' },
    });
  });
  afterAll(async () => {
    client.close();
    await app.close();
    await stack?.stop();
  });

  it('writes only JSON lines, each with level, time and msg', () => {
    expect(captured.raw.length).toBeGreaterThan(0); // Nest's start-up lines
    for (const line of captured.lines) {
      expect(typeof line['level']).toBe('string');
      expect(new Date(String(line['time'])).toISOString()).toBe(line['time']);
      expect(typeof line['msg']).toBe('string');
    }
  });

  it('a successful Reserve writes nothing at info', async () => {
    const before = captured.raw.length;
    const traceId = 'a1'.repeat(16);
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${'b2'.repeat(8)}-01`);
    metadata.set('x-request-id', 'req-log-ok');
    const reply = await client.call(
      'Reserve',
      { reservationId: uid('log-res'), accountId: account, amount: { amount: '1.00', currency: 'USD' } },
      metadata,
    );
    expect(reply.reservation.status).toBe('RESERVATION_STATUS_ACTIVE');
    await settle();
    // Background work (relay, publisher) may log meanwhile; nothing may come from this call.
    const fromCall = captured.lines
      .slice(before)
      .filter((l) => l['trace_id'] === traceId || l['req_id'] === 'req-log-ok' || l['rpc_method'] === 'Reserve');
    expect(fromCall).toEqual([]);
  });

  it('a rejected Reserve writes one info line (not warn: rejects are expected) with the reason and the trace id of its span', async () => {
    const before = captured.raw.length;
    const metadata = new Metadata();
    metadata.set('x-request-id', 'req-log-42');
    metadata.set('authorization', 'Bearer very-secret-token');
    const failure = await expectFailure(
      client.call(
        'Reserve',
        { reservationId: uid('log-res'), accountId: account, amount: { amount: '5000.00', currency: 'USD' } },
        metadata,
      ),
    );
    expect(failure.reason).toBe('INSUFFICIENT_FUNDS');
    await settle();
    const written = captured.raw.slice(before).filter((l) => l.includes('"rpc_method":"Reserve"'));
    expect(written).toHaveLength(1);
    expect(written[0]).not.toContain('very-secret-token');
    const line = JSON.parse(written[0]!) as Record<string, unknown>;
    const server = exporter
      .getFinishedSpans()
      .filter(
        (s) => s.name === 'ledger.v1.LedgerService/Reserve' && s.attributes['ledger.reason'] === 'INSUFFICIENT_FUNDS',
      )
      .pop();
    expect(server).toBeDefined();
    expect(line).toMatchObject({
      level: 'info',
      msg: 'Reserve rejected: INSUFFICIENT_FUNDS: available 99.00 USD < 5000.00 USD',
      rpc_service: 'ledger.v1.LedgerService',
      rpc_method: 'Reserve',
      grpc_code: 'FailedPrecondition',
      reason: 'INSUFFICIENT_FUNDS',
      trace_id: server!.spanContext().traceId,
      span_id: server!.spanContext().spanId,
      req_id: 'req-log-42',
    });
    expect(line['err']).toBeUndefined(); // a reject is not a fault: no stack
    const sameTrace = captured.lines.slice(before).filter((l) => l['trace_id'] === server!.spanContext().traceId);
    expect(sameTrace).toHaveLength(1);
  });

  it('a fault (Redis gone) writes one error line with the reason', async () => {
    await stack.redis.kill();
    try {
      const before = captured.raw.length;
      const failure = await expectFailure(
        client.call('Reserve', {
          reservationId: uid('log-res'),
          accountId: account,
          amount: { amount: '1.00', currency: 'USD' },
        }),
      );
      expect(failure.code).toBe(status.UNAVAILABLE);
      await settle();
      const lines = captured.raw
        .slice(before)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l['rpc_method'] === 'Reserve');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'error',
        reason: 'DEPENDENCY_UNAVAILABLE',
        grpc_code: 'Unavailable',
        rpc_method: 'Reserve',
      });
      expect(lines[0]!['trace_id']).toMatch(/^[0-9a-f]{32}$/);
      expect(typeof lines[0]!['req_id']).toBe('string');
    } finally {
      await stack.redis.resume();
    }
  });
});

/** Lets pino's destination receive what was written during the call. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}
