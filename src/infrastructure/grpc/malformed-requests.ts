import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { LedgerError } from '../../ledger/domain/errors';

/** Marks a request whose bytes did not decode; its value says why. */
const MALFORMED = Symbol('ledger.malformed-request');

type MalformedRequest = { [MALFORMED]: string };

interface MethodDefinition {
  path?: string;
  requestDeserialize?: (bytes: Buffer) => unknown;
  requestType?: { type?: { name?: string } };
}

/**
 * grpc-js answers a request that does not decode with INTERNAL "Error deserializing request",
 * before any handler runs: the caller cannot tell its own bad bytes from our fault, and the call
 * is neither counted nor logged. This wraps every method's deserializer of a proto-loader package
 * definition so that bad bytes become a marked request instead; RejectMalformedRequests turns it
 * into INVALID_ARGUMENT with the reason, through the usual error mapping, metrics and log line.
 */
export function markMalformedRequests(definition: Record<string, unknown>): void {
  for (const [serviceName, service] of Object.entries(definition)) {
    if (typeof service !== 'object' || service === null || 'format' in service) continue; // a message type
    const pkg = serviceName.slice(0, serviceName.lastIndexOf('.') + 1);
    for (const method of Object.values(service as Record<string, MethodDefinition>)) {
      const decode = method?.requestDeserialize;
      if (typeof decode !== 'function') continue;
      const type = `${pkg}${method.requestType?.type?.name ?? 'request'}`;
      method.requestDeserialize = (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (error) {
          const why = error instanceof Error ? error.message : String(error);
          return { [MALFORMED]: `the request is not a valid ${type} message (${why})` } satisfies MalformedRequest;
        }
      };
    }
  }
}

/** A marked request fails with INVALID_ARGUMENT before the handler runs. */
export function rejectIfMalformed(request: unknown): void {
  if (typeof request === 'object' && request !== null && MALFORMED in request) {
    throw new LedgerError('INVALID_ARGUMENT', (request as MalformedRequest)[MALFORMED]);
  }
}

/** The controller's interceptor of rejectIfMalformed. */
@Injectable()
export class RejectMalformedRequests implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    rejectIfMalformed(ctx.getArgByIndex<unknown>(0));
    return next.handle();
  }
}
