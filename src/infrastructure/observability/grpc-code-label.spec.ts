import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcCodeLabel } from './grpc-code-label';

describe('grpcCodeLabel', () => {
  it("spells every status as Go's codes.Code.String() does", () => {
    const spelled = Object.fromEntries(
      Object.values(GrpcStatus)
        .filter((code): code is GrpcStatus => typeof code === 'number')
        .map((code) => [GrpcStatus[code], grpcCodeLabel(code)]),
    );
    expect(spelled).toEqual({
      OK: 'OK',
      CANCELLED: 'Canceled',
      UNKNOWN: 'Unknown',
      INVALID_ARGUMENT: 'InvalidArgument',
      DEADLINE_EXCEEDED: 'DeadlineExceeded',
      NOT_FOUND: 'NotFound',
      ALREADY_EXISTS: 'AlreadyExists',
      PERMISSION_DENIED: 'PermissionDenied',
      RESOURCE_EXHAUSTED: 'ResourceExhausted',
      FAILED_PRECONDITION: 'FailedPrecondition',
      ABORTED: 'Aborted',
      OUT_OF_RANGE: 'OutOfRange',
      UNIMPLEMENTED: 'Unimplemented',
      INTERNAL: 'Internal',
      UNAVAILABLE: 'Unavailable',
      DATA_LOSS: 'DataLoss',
      UNAUTHENTICATED: 'Unauthenticated',
    });
  });

  it('names a code outside the enum Unknown', () => {
    expect(grpcCodeLabel(99 as GrpcStatus)).toBe('Unknown');
  });
});
