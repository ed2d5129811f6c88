import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ExecutionContext } from '@nestjs/common';
import type { CallFailure } from './call-failure';
import type { FastCounterChild, FastHistogramChild } from './fast-metrics';
import { grpcCodeLabel } from './grpc-code-label';
import type { GrpcType } from './grpc-method-types';
import type { LedgerMetrics } from './ledger-metrics';
import { WindowedMax } from './windowed-max';

/** Per RPC method: its labels and pre-bound metric children (bounded: one per registered method). */
export interface MethodTelemetry {
  service: string;
  method: string;
  spanName: string;
  started: FastCounterChild;
  /** calls being handled (read into grpc_server_in_flight_requests at scrape) */
  inFlight: number;
  seconds: FastHistogramChild;
  max: WindowedMax;
  handled: Map<GrpcStatus, FastCounterChild>;
  labels: [string, string, string];
}

/** The telemetry of the method at `path`, named after the handler when the call has no path. */
export function describeMethod(
  metrics: LedgerMetrics,
  methodTypes: ReadonlyMap<string, GrpcType>,
  path: string | undefined,
  ctx: ExecutionContext | undefined,
): MethodTelemetry {
  // "/ledger.v1.LedgerService/Reserve" -> service "ledger.v1.LedgerService", method "Reserve"
  const match = path ? /^\/([^/]+)\/([^/]+)$/.exec(path) : null;
  const service = match?.[1] ?? ctx?.getClass().name ?? 'unknown';
  const name = match?.[2] ?? ctx?.getHandler().name ?? path ?? 'unknown';
  const type = (path && methodTypes.get(path)) || 'unary';
  const labels: [string, string, string] = [service, name, type];

  return {
    service,
    method: name,
    spanName: `${service}/${name}`,
    started: metrics.grpcStarted.labels(...labels),
    inFlight: 0,
    seconds: metrics.grpcHandlingSeconds.labels(...labels),
    max: new WindowedMax(),
    handled: new Map(),
    labels,
  };
}

/** One call that ended, in its method's metrics and the business counters (operations by result, rejects, replays). */
export function recordCall(
  metrics: LedgerMetrics,
  method: MethodTelemetry,
  seconds: number,
  code: GrpcStatus,
  failure: CallFailure | undefined,
  reply: unknown,
): void {
  method.inFlight--;
  method.seconds.observe(seconds);
  method.max.record(seconds);
  let handled = method.handled.get(code);
  if (!handled) {
    handled = metrics.grpcHandled.labels(...method.labels, grpcCodeLabel(code));
    method.handled.set(code, handled);
  }
  handled.inc();
  const operation = method.method;
  if (failure?.fault) {
    metrics.operations.labels(operation, 'error').inc();
  } else if (failure) {
    metrics.operations.labels(operation, 'rejected').inc();
    metrics.rejects.labels(operation, failure.reason).inc();
  } else if (code !== GrpcStatus.OK) {
    metrics.operations.labels(operation, 'cancelled').inc();
  } else if (isReplayed(reply)) {
    metrics.operations.labels(operation, 'replayed').inc();
    metrics.replays.labels(operation).inc();
  } else {
    metrics.operations.labels(operation, 'ok').inc();
  }
}

export function isReplayed(reply: unknown): boolean {
  return typeof reply === 'object' && reply !== null && (reply as { replayed?: unknown }).replayed === true;
}
