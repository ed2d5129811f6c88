import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { ErrorInfo, RetryInfo } from '../../generated/google/rpc/error_details';
import { Status } from '../../generated/google/rpc/status';
import type { ErrorReason } from '../domain/errors';

export const ERROR_DOMAIN = 'ledger.v1';

/** The one mapping from a domain reason to a gRPC status code (the contract's ErrorReason table). */
export const GRPC_CODE_OF_REASON: Readonly<Record<ErrorReason, GrpcStatus>> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  INVALID_AMOUNT: GrpcStatus.INVALID_ARGUMENT,
  UNKNOWN_CURRENCY: GrpcStatus.INVALID_ARGUMENT,
  CURRENCY_MISMATCH: GrpcStatus.INVALID_ARGUMENT,
  ACCOUNT_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ACCOUNT_EXISTS: GrpcStatus.ALREADY_EXISTS,
  ACCOUNT_FROZEN: GrpcStatus.FAILED_PRECONDITION,
  ACCOUNT_CLOSED: GrpcStatus.FAILED_PRECONDITION,
  ACCOUNT_NOT_EMPTY: GrpcStatus.FAILED_PRECONDITION,
  INSUFFICIENT_FUNDS: GrpcStatus.FAILED_PRECONDITION,
  RESERVATION_NOT_FOUND: GrpcStatus.NOT_FOUND,
  RESERVATION_NOT_ACTIVE: GrpcStatus.FAILED_PRECONDITION,
  COMMIT_EXCEEDS_RESERVATION: GrpcStatus.FAILED_PRECONDITION,
  AMEND_BELOW_COMMITTED: GrpcStatus.FAILED_PRECONDITION,
  IDEMPOTENCY_CONFLICT: GrpcStatus.ALREADY_EXISTS,
  AMOUNT_OUT_OF_RANGE: GrpcStatus.OUT_OF_RANGE,
  DEPENDENCY_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  OVERLOADED: GrpcStatus.RESOURCE_EXHAUSTED,
};

/** What grpc-js needs to end a call with an error: code, message, trailers. */
export interface GrpcErrorResponse {
  code: GrpcStatus;
  message: string;
  details: string;
  metadata: Metadata;
}

/**
 * How long a caller should wait before retrying, with the same ids (google.rpc.RetryInfo), for
 * the reasons that mean "not now": a dependency reconnects within about a second (Redis's
 * reconnect backoff is capped at 1 s); a full outbox drains at the relay's pace.
 */
export const RETRY_DELAY_MS: Partial<Readonly<Record<ErrorReason, number>>> = {
  DEPENDENCY_UNAVAILABLE: 500,
  OVERLOADED: 1000,
};

/**
 * A status with google.rpc.ErrorInfo in grpc-status-details-bin, as the contract promises:
 * domain "ledger.v1", reason from ErrorReason, the reject's facts as metadata, message starting
 * with the reason; plus google.rpc.RetryInfo for the reasons worth retrying later.
 */
export function grpcErrorResponse(
  reason: ErrorReason,
  message: string,
  facts: Readonly<Record<string, string>> = {},
): GrpcErrorResponse {
  const code = GRPC_CODE_OF_REASON[reason];
  const info = ErrorInfo.encode({ reason, domain: ERROR_DOMAIN, metadata: { ...facts } }).finish();
  const details = [{ typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: info }];
  const delayMs = RETRY_DELAY_MS[reason];
  if (delayMs !== undefined) {
    const retryDelay = { seconds: String(Math.floor(delayMs / 1000)), nanos: (delayMs % 1000) * 1_000_000 };
    details.push({
      typeUrl: 'type.googleapis.com/google.rpc.RetryInfo',
      value: RetryInfo.encode({ retryDelay }).finish(),
    });
  }
  const status = Status.encode({ code, message, details }).finish();
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(status));
  return { code, message, details: message, metadata };
}
