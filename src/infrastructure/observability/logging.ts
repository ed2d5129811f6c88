import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Params } from 'nestjs-pino';
import { type DestinationStream, type LoggerOptions, pino, stdTimeFunctions } from 'pino';

/**
 * Logs: pino JSON lines on stdout (through nestjs-pino), one object per line with level (as a
 * word), time (ISO 8601), msg, the trace_id/span_id of the active span and, inside a gRPC call,
 * its req_id. What the service logs per call is one line per failed call (see
 * GrpcTelemetryInterceptor); successful calls log nothing at info.
 *
 * The gRPC request context: nestjs-pino's own microservice hook builds two child loggers per
 * message, which measured as the largest single cost of telemetry per call (about 40% of it on
 * Reserve). Instead the interceptor keeps the call's metadata in an AsyncLocalStorage and the
 * mixin below adds req_id to whatever line is written during the call; the id itself (the
 * caller's x-request-id, or a new UUID) is made only when a line needs it.
 */

interface MetadataLike {
  get(key: string): unknown[];
}

export interface CallLogContext {
  metadata: MetadataLike | undefined;
  reqId?: string;
}

const callContexts = new AsyncLocalStorage<CallLogContext>();

/** Runs a gRPC call's handling with its request context (read by every log line it writes). */
export function withCallLogContext<T>(metadata: MetadataLike | undefined, work: () => T): T {
  return callContexts.run({ metadata }, work);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's x-request-id when it is a sane token, else a fresh UUID. */
export function requestIdOf(metadata: MetadataLike | undefined): string {
  const given = typeof metadata?.get === 'function' ? metadata.get('x-request-id')[0] : undefined;
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** The request id of the current call (made once, on first use), or undefined outside a call. */
export function currentRequestId(): string | undefined {
  const call = callContexts.getStore();
  if (!call) return undefined;
  call.reqId ??= requestIdOf(call.metadata);
  return call.reqId;
}

/** trace_id and span_id of the active span, and req_id inside a call: added to every line. */
export function logContextFields(): Record<string, string> {
  const fields: Record<string, string> = {};
  const span = trace.getSpan(context.active());
  const sc = span?.spanContext();
  if (sc && isSpanContextValid(sc)) {
    fields['trace_id'] = sc.traceId;
    fields['span_id'] = sc.spanId;
  }
  const reqId = currentRequestId();
  if (reqId !== undefined) fields['req_id'] = reqId;
  return fields;
}

/** Never written, wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'metadata.authorization',
  '*.password',
  '*.secret',
  '*.token',
];

export function pinoOptions(level: string): LoggerOptions {
  return {
    level,
    messageKey: 'msg',
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    base: { service: 'ledger', pid: process.pid },
    mixin: logContextFields,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
}

export function createRootLogger(level: string, destination?: DestinationStream): pino.Logger {
  return destination ? pino(pinoOptions(level), destination) : pino(pinoOptions(level));
}

/**
 * nestjs-pino parameters: one root logger (Nest's own lines go through it too); HTTP (/metrics,
 * /health) logs only failures (successes at debug), with req_id from x-request-id.
 */
export function loggerParams(logger: pino.Logger): Params {
  return {
    pinoHttp: {
      logger,
      genReqId: (req) => {
        const given = req.headers['x-request-id'];
        return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      },
      customAttributeKeys: { reqId: 'req_id' },
      customLogLevel: (_req, res, error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug',
    },
  };
}
