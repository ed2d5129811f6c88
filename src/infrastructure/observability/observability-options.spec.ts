import { ConfigError } from '../../config/config-error';
import { errorFields } from './call-failure';
import { telemetryFromEnv } from './observability-options';
import { validateTracingEnv } from './tracing-sdk';

describe('observability configuration', () => {
  it('LEDGER_TELEMETRY: on by default, on|off, anything else stops the start naming the variable', () => {
    expect(telemetryFromEnv({})).toBe('on');
    expect(telemetryFromEnv({ LEDGER_TELEMETRY: 'off' })).toBe('off');
    expect(() => telemetryFromEnv({ LEDGER_TELEMETRY: 'maybe' })).toThrow(ConfigError);
    expect(() => telemetryFromEnv({ LEDGER_TELEMETRY: 'maybe' })).toThrow(/LEDGER_TELEMETRY/);
  });

  it('OTEL_TRACES_SAMPLER(_ARG): the SDK would silently fall back; we refuse bad values', () => {
    expect(() => validateTracingEnv({})).not.toThrow();
    expect(() =>
      validateTracingEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }),
    ).not.toThrow();
    expect(() => validateTracingEnv({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() =>
      validateTracingEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '10%' }),
    ).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => validateTracingEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG/,
    );
  });
});

describe('logged errors', () => {
  it('keep name, message, code and stack, never driver details such as query parameters', () => {
    const error = Object.assign(new Error('relation "x" does not exist'), {
      code: '42P01',
      parameters: ['secret-value'],
      driverError: { password: 'pw' },
    });
    error.name = 'QueryFailedError';
    const fields = errorFields(error);
    expect(fields).toMatchObject({ type: 'QueryFailedError', message: 'relation "x" does not exist', code: '42P01' });
    expect(JSON.stringify(fields)).not.toContain('secret-value');
    expect(JSON.stringify(fields)).not.toContain('pw');
  });
});
