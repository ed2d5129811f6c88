import { loadConfig } from './config';
import { ConfigError } from './config-error';

describe('loadConfig: shutdown bounds', () => {
  it('defaults below Kubernetes 30 s grace period', () => {
    expect(loadConfig({}).shutdown).toEqual({ timeoutMs: 25_000, delayMs: 1000, drainMs: 10_000 });
  });

  it('refuses a bound that the delay and the drain alone would exceed, naming the variable', () => {
    expect(() => loadConfig({ LEDGER_SHUTDOWN_TIMEOUT_MS: '5000', LEDGER_SHUTDOWN_DRAIN_MS: '4500' })).toThrow(
      new ConfigError(
        'LEDGER_SHUTDOWN_TIMEOUT_MS',
        'must exceed LEDGER_SHUTDOWN_DELAY_MS + LEDGER_SHUTDOWN_DRAIN_MS (1000 + 4500), got 5000',
      ),
    );
    expect(() => loadConfig({ LEDGER_SHUTDOWN_DELAY_MS: 'soon' })).toThrow(
      /LEDGER_SHUTDOWN_DELAY_MS must be a whole number/,
    );
  });
});
