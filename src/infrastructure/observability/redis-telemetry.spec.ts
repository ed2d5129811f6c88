import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type Redis from 'ioredis';
import { LuaScripts } from '../redis/lua-scripts';
import { LedgerMetrics } from './ledger-metrics';
import { classifyRedisError, RedisTelemetry, scriptReject } from './redis-telemetry';
import { Tracing } from './tracing';
import { startInMemorySdk } from './in-memory-sdk.test-support';

/** prom-client's histogram values carry the series name (_bucket, _sum, _count) untyped. */
const nameOf = (v: object): string | undefined => (v as { metricName?: string }).metricName;

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

async function value(metrics: LedgerMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  const data = await metric!.get();
  const match = data.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

describe('RedisTelemetry', () => {
  const exporter = new InMemorySpanExporter();
  let metrics: LedgerMetrics;
  let telemetry: RedisTelemetry;
  let tracing: Tracing;

  beforeAll(() => {
    startInMemorySdk(exporter);
  });
  beforeEach(() => {
    exporter.reset();
    metrics = new LedgerMetrics({ defaultMetrics: false });
    tracing = new Tracing(trace.getTracer('test'), true);
    telemetry = new RedisTelemetry(metrics, tracing, true);
  });

  it('classifies failures into a bounded set of reasons', () => {
    expect(classifyRedisError(new Error('Command timed out'))).toBe('timeout');
    expect(classifyRedisError(new Error('Connection is closed.'))).toBe('connection');
    expect(classifyRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(
      'connection',
    );
    expect(classifyRedisError(replyError('BUSY Redis is busy running a script'))).toBe('unavailable');
    expect(classifyRedisError(replyError('NOSCRIPT No matching script'))).toBe('noscript');
    expect(classifyRedisError(replyError('ERR user_script:12: attempt to compare nil'))).toBe('script_error');
    expect(classifyRedisError('weird')).toBe('other');
  });

  it('tells a business reject from a successful reply', () => {
    expect(scriptReject(['OK', '{}'])).toBeUndefined();
    expect(scriptReject(['REPLAY', '{}'])).toBeUndefined();
    expect(scriptReject('tx|acct-1')).toBeUndefined();
    expect(scriptReject(['INSUFFICIENT_FUNDS', 'available 1 < 2'])).toBe('INSUFFICIENT_FUNDS');
    expect(scriptReject(['NOT_A_REASON', ''])).toBe('UNKNOWN');
  });

  it('times each script, counts rejects apart from errors and NOSCRIPT reloads, through LuaScripts', async () => {
    let calls = 0;
    const redis = {
      evalsha: async () => {
        calls++;
        if (calls === 1) throw replyError('NOSCRIPT No matching script');
        if (calls === 3) return ['INSUFFICIENT_FUNDS', 'no'];
        if (calls === 4) throw new Error('Command timed out');
        return ['OK', '{}'];
      },
      script: async () => 'sha',
    } as unknown as Redis;
    const scripts = new LuaScripts(redis, undefined, telemetry);
    await scripts.run('reserve', ['k'], []); // NOSCRIPT, reload, OK
    await scripts.run('reserve', ['k'], []); // reject
    await expect(scripts.run('reserve', ['k'], [])).rejects.toThrow('timed out');
    expect(await value(metrics, 'ledger_redis_noscript_reloads_total', { script: 'reserve' })).toBe(1);
    expect(
      await value(metrics, 'ledger_redis_script_failures_total', {
        script: 'reserve',
        kind: 'reject',
        reason: 'INSUFFICIENT_FUNDS',
      }),
    ).toBe(1);
    expect(
      await value(metrics, 'ledger_redis_script_failures_total', {
        script: 'reserve',
        kind: 'error',
        reason: 'timeout',
      }),
    ).toBe(1);
    const histogram = await metrics.registry.getSingleMetric('ledger_redis_script_seconds')!.get();
    expect(histogram.values.find((v) => nameOf(v) === 'ledger_redis_script_seconds_count')?.value).toBe(3);
    // No call span: these calls had no recording parent.
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('makes a CLIENT span per script under a recording parent', async () => {
    const parent = tracing.tracer.startSpan('ReserveFunds');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      telemetry.sent('claim').replied('res|acct');
      telemetry.sent('reserve').replied(['INSUFFICIENT_FUNDS', 'no']);
      telemetry.sent('reserve').failed(new Error('Connection is closed.'));
    });
    parent.end();
    const spans = exporter.getFinishedSpans().filter((s) => s.name.startsWith('redis.'));
    expect(spans.map((s) => s.name)).toEqual(['redis.evalsha claim', 'redis.evalsha reserve', 'redis.evalsha reserve']);
    expect(
      spans.every((s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === parent.spanContext().spanId),
    ).toBe(true);
    expect(spans[1]?.attributes['ledger.script.status']).toBe('INSUFFICIENT_FUNDS');
    expect(spans[1]?.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans[2]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'connection' });
  });

  it('records nothing per call when telemetry is off', async () => {
    const off = new RedisTelemetry(metrics, tracing, false);
    off.sent('reserve').replied(['INSUFFICIENT_FUNDS', 'x']);
    const histogram = await metrics.registry.getSingleMetric('ledger_redis_script_seconds')!.get();
    expect(histogram.values.filter((v) => v.value > 0)).toEqual([]);
  });
});
