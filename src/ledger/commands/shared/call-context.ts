import { context, propagation } from '@opentelemetry/api';
import type { CallContext } from '../../ports/ledger-store';

/** The ambient trace context of the call, as a W3C traceparent to store with its events. */
export function currentCallContext(): CallContext {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return { traceparent: carrier['traceparent'] ?? '' };
}
