import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { LedgerError } from '../../ledger/domain/errors';
import { LedgerMetrics } from './ledger-metrics';
import { noteRemoteCall, noteRemoteCallEnd, noteRemoteCallStart, TimedSteps } from './timed-steps';
import { Tracing } from './tracing';
import { startInMemorySdk } from './in-memory-sdk.test-support';

/** prom-client's histogram values carry the series name (_bucket, _sum, _count) untyped. */
const nameOf = (v: object): string | undefined => (v as { metricName?: string }).metricName;

async function stepCounts(metrics: LedgerMetrics, command: string): Promise<Record<string, number>> {
  const data = await metrics.registry.getSingleMetric('ledger_command_step_seconds')!.get();
  const counts: Record<string, number> = {};
  for (const v of data.values) {
    if (nameOf(v) === 'ledger_command_step_seconds_count' && v.labels['command'] === command) {
      counts[String(v.labels['step'])] = v.value;
    }
  }
  return counts;
}

async function stepSum(metrics: LedgerMetrics, command: string, step: string): Promise<number> {
  const data = await metrics.registry.getSingleMetric('ledger_command_step_seconds')!.get();
  return (
    data.values.find(
      (v) =>
        nameOf(v) === 'ledger_command_step_seconds_sum' && v.labels['command'] === command && v.labels['step'] === step,
    )?.value ?? NaN
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Busy-waits, so that a step measurably takes time without leaving the event loop. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // burn
  }
}

describe('TimedSteps', () => {
  const exporter = new InMemorySpanExporter();
  let metrics: LedgerMetrics;
  let steps: TimedSteps;
  let tracing: Tracing;

  beforeAll(() => {
    startInMemorySdk(exporter);
  });
  beforeEach(() => {
    exporter.reset();
    metrics = new LedgerMetrics({ defaultMetrics: false });
    tracing = new Tracing(trace.getTracer('test'), true);
    steps = new TimedSteps(metrics, tracing);
  });

  function underServerSpan<T>(work: () => Promise<T>): Promise<T> {
    const server = tracing.tracer.startSpan('ledger.v1.LedgerService/Reserve');
    return context.with(trace.setSpan(context.active(), server), work).finally(() => server.end());
  }

  it('makes a command span with a span per step (none for repository) and times every step', async () => {
    const result = await underServerSpan(() =>
      steps.command('ReserveFunds', async () => {
        steps.run('ReserveFunds', 'validate', () => spin(1));
        const parsed = steps.run('ReserveFunds', 'parse-money', () => 5n);
        const stored = await steps.run('ReserveFunds', 'repository', async () => {
          spin(3); // formatting keys
          noteRemoteCallStart(performance.now());
          await sleep(20); // the EVALSHA
          noteRemoteCallEnd(performance.now());
          return parsed * 2n;
        });
        return steps.run('ReserveFunds', 'to-response', () => String(stored));
      }),
    );
    expect(result).toBe('10');
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'ledger.v1.LedgerService/Reserve')!;
    const command = spans.find((s) => s.name === 'ReserveFunds')!;
    expect(command.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    const children = spans.filter((s) => s.parentSpanContext?.spanId === command.spanContext().spanId);
    expect(children.map((s) => s.name)).toEqual(['validate', 'parse-money', 'to-response']);
    expect(await stepCounts(metrics, 'ReserveFunds')).toEqual({
      validate: 1,
      'parse-money': 1,
      'format-keys': 1,
      repository: 1,
      'to-response': 1,
    });
    // format-keys counts the 3 ms before the call, not the 20 ms of the call itself.
    const formatKeys = await stepSum(metrics, 'ReserveFunds', 'format-keys');
    expect(formatKeys).toBeGreaterThanOrEqual(0.003);
    expect(formatKeys).toBeLessThan(0.015);
    expect(await stepSum(metrics, 'ReserveFunds', 'repository')).toBeGreaterThanOrEqual(0.02);
  });

  it('format-keys counts concurrent calls once (a Redis claim beside a Postgres lookup)', async () => {
    await steps.run('ReserveFunds', 'repository', async () => {
      spin(2);
      const claimStart = performance.now();
      noteRemoteCallStart(claimStart); // claim (Redis) and the lookup (Postgres) leave together
      await sleep(5);
      noteRemoteCallEnd(performance.now()); // the claim answers first
      await sleep(15); // the lookup takes longer; waiting for it is not formatting
      noteRemoteCall(claimStart, performance.now()); // reported by its caller once done
      spin(2);
      noteRemoteCallStart(performance.now()); // the reserve script
      await sleep(5);
      noteRemoteCallEnd(performance.now());
    });
    const formatKeys = await stepSum(metrics, 'ReserveFunds', 'format-keys');
    expect(formatKeys).toBeGreaterThanOrEqual(0.004);
    expect(formatKeys).toBeLessThan(0.012);
  });

  it('marks the failing step and the command with the reason, and still times the step', async () => {
    await expect(
      underServerSpan(() =>
        steps.command('ReserveFunds', async () => {
          steps.run('ReserveFunds', 'validate', () => {
            throw new LedgerError('INVALID_ARGUMENT', 'reservation_id is required');
          });
        }),
      ),
    ).rejects.toThrow('reservation_id is required');
    const spans = exporter.getFinishedSpans();
    for (const name of ['validate', 'ReserveFunds']) {
      const span = spans.find((s) => s.name === name)!;
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'INVALID_ARGUMENT' });
      expect(span.attributes['ledger.reason']).toBe('INVALID_ARGUMENT');
      expect(span.events).toEqual([]); // a reject, not a fault: no exception event
    }
    expect(await stepCounts(metrics, 'ReserveFunds')).toEqual({ validate: 1 });
  });

  it('records a fault with its exception', async () => {
    await expect(
      underServerSpan(() =>
        steps.command('DepositFunds', () =>
          steps.run('DepositFunds', 'repository', async () => {
            throw new Error('bug');
          }),
        ),
      ),
    ).rejects.toThrow('bug');
    const command = exporter.getFinishedSpans().find((s) => s.name === 'DepositFunds')!;
    expect(command.status).toEqual({ code: SpanStatusCode.ERROR, message: 'INTERNAL' });
    expect(command.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('makes no spans without a recording parent (unsampled call), but still times the steps', async () => {
    await steps.command('ReserveFunds', async () => steps.run('ReserveFunds', 'validate', () => undefined));
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(await stepCounts(metrics, 'ReserveFunds')).toEqual({ validate: 1 });
  });
});
