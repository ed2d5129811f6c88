import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Params } from 'nestjs-pino';
import { type DestinationStream, type LoggerOptions, pino, stdTimeFunctions } from 'pino';

/**
 * Logs: pino JSON lines on stdout, one object per line with level (as a word), time (ISO 8601),
 * msg, the trace_id/span_id of the active span, and req_id inside a gRPC call (nestjs-pino's
 * microservice context). What the service logs per call is one line per failed call (see
 * GrpcTelemetryInterceptor); successful calls log nothing at info.
 */

/** trace_id and span_id of the active span, added to every line (pino mixin). */
export function traceFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
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
    mixin: traceFields,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
}

export function createRootLogger(level: string, destination?: DestinationStream): pino.Logger {
  return destination ? pino(pinoOptions(level), destination) : pino(pinoOptions(level));
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's x-request-id when it is a sane token, else a fresh UUID. */
export function requestIdOf(ctx: ExecutionContext): string {
  const metadata = ctx.getArgByIndex<{ get?: (key: string) => unknown[] } | undefined>(1);
  const given = typeof metadata?.get === 'function' ? metadata.get('x-request-id')[0] : undefined;
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * nestjs-pino parameters: one root logger; HTTP (/metrics, /health) logs only failures (others
 * at debug); gRPC calls get a logging context with req_id (nestjs-pino `microservice`), without
 * automatic lines: the interceptor writes the one line per failed call itself.
 */
export function loggerParams(logger: pino.Logger, grpcContext: boolean): Params {
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
    microservice: grpcContext
      ? {
          autoLogging: false,
          genReqId: requestIdOf,
          quietRpcLogger: true,
          customAttributeKeys: { reqId: 'req_id' },
        }
      : false,
  };
}
