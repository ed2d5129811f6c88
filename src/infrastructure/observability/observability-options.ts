import type { DestinationStream } from 'pino';
import { ConfigError } from '../../config/config-error';

export type TelemetryMode = 'on' | 'off';

/** How the app observes itself; everything has a default. */
export interface ObservabilityOptions {
  /**
   * LEDGER_TELEMETRY: "on" (default) records metrics per call and step and, when the OTel SDK
   * is preloaded, traces; "off" keeps only /metrics's runtime and sampled families and the log
   * line of each failed call (the baseline of the overhead measurement).
   */
  telemetry?: TelemetryMode;
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream;
  /** No log lines at all (tests that pass `logger: false`), unless a destination is given. */
  quiet?: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates LEDGER_TELEMETRY; a bad value stops the process naming the variable. */
export function telemetryFromEnv(env: Env = process.env): TelemetryMode {
  const value = env['LEDGER_TELEMETRY'];
  if (value === undefined || value === '') return 'on';
  if (value !== 'on' && value !== 'off') {
    throw new ConfigError('LEDGER_TELEMETRY', `must be one of on, off, got "${value}"`);
  }
  return value;
}
