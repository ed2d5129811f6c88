import { OutboxTelemetry } from '../observability/persistence-telemetry';

/** Connections of their own for the relay (blocking reads) and the durable-ack subscriber. */
export const RELAY_REDIS = Symbol('RELAY_REDIS');
export const SUBSCRIBER_REDIS = Symbol('SUBSCRIBER_REDIS');
/** Metrics and linked spans (ObservabilityModule); absent when the module is used on its own. */
export const TELEMETRY = { token: OutboxTelemetry, optional: true };
