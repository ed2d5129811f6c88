import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The `grpc_code` label value of a status, spelled as Go's `codes.Code.String()` does
 * (`OK`, `FailedPrecondition`, `Unavailable`, ...): go-grpc-prometheus, the grpc-ecosystem
 * dashboards and the usual alert rules (`grpc_code=~"Unknown|Internal|Unavailable|DataLoss|DeadlineExceeded"`)
 * match on these strings, so the metric and the failure log line use them too. Written out
 * rather than derived from grpc-js's enum names (`FAILED_PRECONDITION`), which are the C core's.
 * Note Go's single-l `Canceled`.
 */
const GO_CODE_NAMES: Readonly<Record<GrpcStatus, string>> = {
  [GrpcStatus.OK]: 'OK',
  [GrpcStatus.CANCELLED]: 'Canceled',
  [GrpcStatus.UNKNOWN]: 'Unknown',
  [GrpcStatus.INVALID_ARGUMENT]: 'InvalidArgument',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [GrpcStatus.NOT_FOUND]: 'NotFound',
  [GrpcStatus.ALREADY_EXISTS]: 'AlreadyExists',
  [GrpcStatus.PERMISSION_DENIED]: 'PermissionDenied',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [GrpcStatus.FAILED_PRECONDITION]: 'FailedPrecondition',
  [GrpcStatus.ABORTED]: 'Aborted',
  [GrpcStatus.OUT_OF_RANGE]: 'OutOfRange',
  [GrpcStatus.UNIMPLEMENTED]: 'Unimplemented',
  [GrpcStatus.INTERNAL]: 'Internal',
  [GrpcStatus.UNAVAILABLE]: 'Unavailable',
  [GrpcStatus.DATA_LOSS]: 'DataLoss',
  [GrpcStatus.UNAUTHENTICATED]: 'Unauthenticated',
};

export function grpcCodeLabel(code: GrpcStatus): string {
  return GO_CODE_NAMES[code] ?? 'Unknown';
}
