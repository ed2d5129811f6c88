import { status as GrpcStatus } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { LedgerError } from '../../ledger/domain/errors';
import { GRPC_CODE_OF_REASON } from '../../ledger/grpc/error-status';
import { isFault, reasonOf } from './timed-steps';

/** How a failed call is reported: its reason code, whether it is our fault, and its gRPC code. */
export interface CallFailure {
  reason: string;
  fault: boolean;
  code: GrpcStatus;
}

/**
 * A handler's error as the caller sees it (the same mapping as GrpcExceptionFilter): a
 * LedgerError keeps its reason (DEPENDENCY_UNAVAILABLE and OVERLOADED are faults, the others
 * business rejects); an RpcException raised on purpose (UNIMPLEMENTED) is a reject named by its
 * code; anything else is an INTERNAL fault.
 */
export function classifyFailure(error: unknown): CallFailure {
  if (error instanceof LedgerError) {
    return { reason: error.reason, fault: isFault(error), code: GRPC_CODE_OF_REASON[error.reason] };
  }
  if (error instanceof RpcException) {
    const raw = error.getError();
    const given = typeof raw === 'object' && raw !== null ? (raw as { code?: unknown }).code : undefined;
    const code =
      typeof given === 'number' && GrpcStatus[given] !== undefined ? (given as GrpcStatus) : GrpcStatus.UNKNOWN;
    return { reason: grpcCodeName(code), fault: false, code };
  }
  return { reason: reasonOf(error), fault: true, code: GrpcStatus.INTERNAL };
}

/** The C-core name of a status (`FAILED_PRECONDITION`): the reason of a reject raised as a bare status. */
export function grpcCodeName(code: GrpcStatus): string {
  return GrpcStatus[code] ?? 'UNKNOWN';
}

/** A fault's cause as the fields of its log line (`err`): name, message, code and stack, nothing else. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    stack: error.stack,
  };
}
