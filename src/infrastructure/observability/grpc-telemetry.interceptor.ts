import { performance } from 'node:perf_hooks';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { PinoLogger } from 'nestjs-pino';
import { Observable } from 'rxjs';
import { LedgerError } from '../../ledger/domain/errors';
import { type CallFailure, classifyFailure, errorFields, grpcCodeName } from './call-failure';
import { grpcCodeLabel } from './grpc-code-label';
import type { GrpcType } from './grpc-method-types';
import type { LedgerMetrics } from './ledger-metrics';
import { type CallLike, callerGaveUp } from '../grpc/call-deadline';
import { currentRequestId, requestIdOf, withCallLogContext } from './logging';
import { describeMethod, isReplayed, type MethodTelemetry, recordCall } from './method-telemetry';
import { grpcMetadataGetter, recordFailure, type Tracing } from './tracing';

interface GrpcCallLike {
  getPath?: () => string;
}

/** One call being observed (GrpcTelemetryInterceptor.begin). */
interface ObservedCall {
  run<T>(work: () => T): T;
  succeeded(reply: unknown): void;
  failed(error: unknown): void;
  /** torn down before it completed: the caller went away (deadline or cancel) */
  cancelled(): void;
}

/**
 * The module-level interceptor of every gRPC call (registered with APP_INTERCEPTOR and reaching
 * the microservice through `inheritAppConfig`). Per call it
 * - counts and times it with the grpc-ecosystem metrics (started, handled by code, handling
 *   seconds, in flight, max) and the business counters (operations by result, rejects by reason,
 *   idempotent replays);
 * - continues the caller's W3C trace context from the gRPC metadata and runs the call inside a
 *   SERVER span named `ledger.v1.LedgerService/<Method>`, with rpc.* attributes, the gRPC status
 *   code, and on failure status ERROR with the reason code;
 * - runs the call in a log context, so that any line written during it carries its req_id;
 * - writes one log line when the call fails: info for a business reject, error for a fault
 *   (with the stack), carrying reason, gRPC code (`grpc_code`, Go's spelling like the metric
 *   label), method, trace_id, span_id and req_id. Nothing
 *   is logged for a successful call.
 * With LEDGER_TELEMETRY=off only the failure line remains.
 */
@Injectable()
export class GrpcTelemetryInterceptor implements NestInterceptor {
  private readonly methods = new Map<string, MethodTelemetry>();

  constructor(
    private readonly metrics: LedgerMetrics,
    private readonly tracing: Tracing,
    private readonly logger: PinoLogger,
    private readonly perCall: boolean,
    /** grpc_type of each method path (from the proto); unknown paths count as unary */
    private readonly methodTypes: ReadonlyMap<string, GrpcType> = new Map(),
  ) {
    metrics.addSampler(metrics.grpcHandlingMax, () => {
      for (const m of this.methods.values()) metrics.grpcHandlingMax.labels(...m.labels).set(m.max.max());
    });
    metrics.addSampler(metrics.grpcInFlight, () => {
      for (const m of this.methods.values()) metrics.grpcInFlight.labels(...m.labels).set(m.inFlight);
    });
  }

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'rpc') return next.handle();
    const method = this.methodOf(ctx);
    const metadata = ctx.getArgByIndex<CallMetadata>(1);
    const call = ctx.getArgByIndex<CallLike | undefined>(2);
    return new Observable((subscriber) => {
      const observed = this.begin(method, metadata, call);
      let reply: unknown;
      let subscription: { unsubscribe(): void } | undefined;
      observed.run(() => {
        subscription = next.handle().subscribe({
          next: (value) => {
            reply = value;
            subscriber.next(value);
          },
          error: (error: unknown) => {
            observed.failed(error);
            subscriber.error(error);
          },
          complete: () => {
            observed.succeeded(reply);
            subscriber.complete();
          },
        });
      });
      return () => {
        subscription?.unsubscribe();
        observed.cancelled();
      };
    });
  }

  /**
   * The same for a call dispatched without Nest's pipeline (DirectDispatch): `work` runs in the
   * call's trace and log context; its result or error is recorded, then passed on.
   */
  async around<T>(
    path: string,
    metadata: CallMetadata,
    call: CallLike | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    const observed = this.begin(this.methodOfPath(path), metadata, call);
    let reply: T;
    try {
      reply = await observed.run(work);
    } catch (error) {
      observed.failed(error);
      throw error;
    }
    observed.succeeded(reply);
    return reply;
  }

  /** Starts observing one call: counted, timed, in a SERVER span when traced. */
  private begin(method: MethodTelemetry, metadata: CallMetadata, call: CallLike | undefined): ObservedCall {
    const start = performance.now();
    let span: Span | undefined;
    let callContext = context.active();
    if (this.perCall) {
      method.started.inc();
      method.inFlight++;
      if (this.tracing.enabled) {
        const parent = propagation.extract(ROOT_CONTEXT, metadata, grpcMetadataGetter);
        span = this.tracing.tracer.startSpan(
          method.spanName,
          {
            kind: SpanKind.SERVER,
            attributes: { 'rpc.system': 'grpc', 'rpc.service': method.service, 'rpc.method': method.method },
          },
          parent,
        );
        callContext = trace.setSpan(parent, span);
      }
    }
    let settled = false;
    const settle = (error: unknown, failure: CallFailure | undefined, result: GrpcStatus, reply: unknown): void => {
      if (settled) return;
      settled = true;
      // A caller that went away (deadline, cancel) saw that, not our answer: counted as it saw it.
      const code = callerGaveUp(call) ?? result;
      const seconds = (performance.now() - start) / 1000;
      if (this.perCall) recordCall(this.metrics, method, seconds, code, failure, reply);
      if (span) {
        span.setAttribute('rpc.grpc.status_code', code);
        if (failure) recordFailure(span, failure.reason, error, failure.fault);
        else if (code !== GrpcStatus.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: grpcCodeName(code) });
        else if (isReplayed(reply)) span.setAttribute('ledger.replayed', true);
      }
      if (failure) this.logFailure(method, error, failure, seconds, span, metadata);
      span?.end();
    };
    return {
      // The handler runs in the call's trace context and log context (req_id of its lines).
      run: (work) => (this.perCall ? withCallLogContext(metadata, () => context.with(callContext, work)) : work()),
      succeeded: (reply) => settle(undefined, undefined, GrpcStatus.OK, reply),
      failed: (error) => {
        const failure = classifyFailure(error);
        settle(error, failure, failure.code, undefined);
      },
      cancelled: () => settle(undefined, undefined, GrpcStatus.CANCELLED, undefined),
    };
  }

  private logFailure(
    method: MethodTelemetry,
    error: unknown,
    failure: CallFailure,
    seconds: number,
    span: Span | undefined,
    metadata: CallMetadata,
  ): void {
    const fields: Record<string, unknown> = {
      rpc_service: method.service,
      rpc_method: method.method,
      grpc_code: grpcCodeLabel(failure.code),
      reason: failure.reason,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
    };
    const sc = span?.spanContext();
    if (sc) {
      fields['trace_id'] = sc.traceId;
      fields['span_id'] = sc.spanId;
    }
    fields['req_id'] = currentRequestId() ?? requestIdOf(metadata);
    if (!failure.fault) {
      // Rejects are expected traffic (an order larger than the cash, a retried id): info, so that
      // warn and error stay for faults someone has to look at.
      const message = error instanceof Error ? error.message : String(error);
      this.logger.info(fields, `${method.method} rejected: ${message}`);
    } else {
      // The cause stays in our logs (the caller gets INTERNAL without it), but only its name,
      // message, code and stack: driver errors carry query parameters and connection details.
      fields['err'] = errorFields(error);
      const message = error instanceof LedgerError ? error.message : 'unexpected error';
      this.logger.error(fields, `${method.method} failed: ${message}`);
    }
  }

  private methodOfPath(path: string, ctx?: ExecutionContext): MethodTelemetry {
    let method = this.methods.get(path);
    if (!method) {
      method = describeMethod(this.metrics, this.methodTypes, path, ctx);
      this.methods.set(path, method);
    }
    return method;
  }

  private methodOf(ctx: ExecutionContext): MethodTelemetry {
    const call = ctx.getArgByIndex<GrpcCallLike | undefined>(2);
    const path = typeof call?.getPath === 'function' ? call.getPath() : undefined;
    return this.methodOfPath(path ?? `${ctx.getClass().name}/${ctx.getHandler().name}`, ctx);
  }
}

export type CallMetadata = Parameters<typeof grpcMetadataGetter.get>[0];
