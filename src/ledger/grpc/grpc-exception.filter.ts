import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { type Observable, throwError } from 'rxjs';
import { LedgerError } from '../domain/errors';
import { grpcErrorResponse } from './error-status';

/**
 * The status an error leaving a gRPC handler becomes (what grpc-js sends: code, details,
 * metadata): a LedgerError keeps its reason; an RpcException raised on purpose (e.g.
 * UNIMPLEMENTED) its own status; anything else is a bug and becomes INTERNAL without leaking its
 * message. The one log line of each failed call (with the stack of a bug) is written by
 * GrpcTelemetryInterceptor, which sees the error first.
 */
export function grpcStatusOf(exception: unknown): unknown {
  if (exception instanceof LedgerError) {
    return grpcErrorResponse(exception.reason, exception.message, exception.facts);
  }
  if (exception instanceof RpcException) return exception.getError();
  // INTERNAL carries no ErrorInfo: it is not a reason of the contract, and the cause stays in our logs.
  const message = 'INTERNAL: unexpected error';
  return { code: GrpcStatus.INTERNAL, message, details: message, metadata: new Metadata() };
}

/** grpcStatusOf for the calls Nest's pipeline dispatches. */
@Catch()
export class GrpcExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<unknown> {
    return throwError(() => grpcStatusOf(exception));
  }
}
