import { context, ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { AlwaysOffSampler, SamplingDecision } from '@opentelemetry/sdk-trace';
import { LinkedRootSampler, samplerFromEnv } from './tracing-sdk';

const TRACE = '1'.repeat(32);
const link = (flags: number) => ({ context: { traceId: '2'.repeat(32), spanId: 'a'.repeat(16), traceFlags: flags } });

describe('LinkedRootSampler', () => {
  const sampler = new LinkedRootSampler(new AlwaysOffSampler());
  const decide = (ctx = ROOT_CONTEXT, links = [link(TraceFlags.SAMPLED)]) =>
    sampler.shouldSample(ctx, TRACE, 'relay.pg.insert', SpanKind.INTERNAL, {}, links).decision;

  it('samples a root span that links to a sampled span (a relay batch serving a sampled call)', () => {
    expect(decide()).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(ROOT_CONTEXT, [link(TraceFlags.NONE), link(TraceFlags.SAMPLED)])).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });

  it('leaves every other decision to the configured sampler', () => {
    expect(decide(ROOT_CONTEXT, [link(TraceFlags.NONE)])).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(ROOT_CONTEXT, [])).toBe(SamplingDecision.NOT_RECORD);
    // A child follows its parent (here: the delegate's choice), links or not.
    const parent = trace.setSpanContext(context.active(), {
      traceId: TRACE,
      spanId: 'b'.repeat(16),
      traceFlags: TraceFlags.NONE,
    });
    expect(decide(parent)).toBe(SamplingDecision.NOT_RECORD);
  });
});

describe('samplerFromEnv', () => {
  it('builds the sampler OTEL_TRACES_SAMPLER(_ARG) name, parent-based always-on by default', () => {
    expect(samplerFromEnv({}).toString()).toMatch(/ParentBased\{root=AlwaysOnSampler/);
    expect(
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).toString(),
    ).toMatch(/ParentBased\{root=TraceIdRatioBased\{0.1\}/);
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }).toString()).toBe('AlwaysOffSampler');
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio' }).toString()).toBe('TraceIdRatioBased{1}');
  });
});
