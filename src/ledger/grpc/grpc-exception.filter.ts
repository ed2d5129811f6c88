import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { type Observable, throwError } from 'rxjs';
import { LedgerError } from '../domain/errors';
import { grpcErrorResponse } from './error-status';

/**
 * Every error leaving a gRPC handler becomes a status: a LedgerError keeps its reason; anything
 * else is a bug and becomes INTERNAL without leaking its message. The one log line of each failed
 * call (with the stack of a bug) is written by GrpcTelemetryInterceptor, which sees the error first.
 */
@Catch()
export class GrpcExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<unknown> {
    if (exception instanceof LedgerError) {
      return throwError(() => grpcErrorResponse(exception.reason, exception.message, exception.facts));
    }
    if (exception instanceof RpcException) {
      // Raised on purpose with a status of its own (e.g. UNIMPLEMENTED).
      return throwError(() => exception.getError());
    }
    // INTERNAL carries no ErrorInfo: it is not a reason of the contract, and the cause stays in our logs.
    const message = 'INTERNAL: unexpected error';
    return throwError(() => ({ code: GrpcStatus.INTERNAL, message, details: message, metadata: new Metadata() }));
  }
}
