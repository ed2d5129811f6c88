import type { Logger } from '@nestjs/common';
import { ConfigError } from '../../config/config-error';

/** Logs a repeating failure once, then at most every 10 s, so an outage does not flood the log. */
export function throttled(logger: Logger, what: string): (error: unknown, attempt: number) => void {
  let last = 0;
  return (error, attempt) => {
    const now = Date.now();
    if (attempt > 1 && now - last < 10_000) return;
    last = now;
    const message = `${what} failed (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`;
    // A dependency being down heals by itself; a wrong configuration needs an operator.
    if (error instanceof ConfigError) logger.error(message);
    else logger.warn(message);
  };
}
