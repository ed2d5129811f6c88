import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ErrorInfo, RetryInfo } from '../../generated/google/rpc/error_details';
import { Status } from '../../generated/google/rpc/status';
import { ERROR_REASONS } from '../domain/errors';
import { ERROR_DOMAIN, GRPC_CODE_OF_REASON, grpcErrorResponse } from './error-status';

/** The contract's own table: `REASON = n;  // GRPC_CODE ...` lines of enum ErrorReason. */
function contractCodes(): Map<string, string> {
  const proto = readFileSync(join(__dirname, '../../../proto/ledger/v1/ledger.proto'), 'utf8');
  const body = proto.slice(proto.indexOf('enum ErrorReason'));
  const codes = new Map<string, string>();
  for (const match of body.matchAll(/^\s*([A-Z_]+) = \d+;\s*\/\/ ([A-Z_]+)/gm)) {
    codes.set(match[1] as string, match[2] as string);
  }
  return codes;
}

describe('error mapping', () => {
  const codes = contractCodes();

  it('knows every reason of the contract and no other', () => {
    expect([...codes.keys()].sort()).toEqual([...ERROR_REASONS].sort());
  });

  it.each([...ERROR_REASONS])('maps %s to the gRPC code the contract names', (reason) => {
    const expected = codes.get(reason);
    expect(expected).toBeDefined();
    expect(GrpcStatus[GRPC_CODE_OF_REASON[reason]]).toBe(expected);
  });

  it('carries google.rpc.ErrorInfo (domain ledger.v1, the reason) in grpc-status-details-bin', () => {
    const response = grpcErrorResponse('INSUFFICIENT_FUNDS', 'INSUFFICIENT_FUNDS: available 10.00 USD < 20.00 USD');
    expect(response.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(response.message).toBe('INSUFFICIENT_FUNDS: available 10.00 USD < 20.00 USD');
    const [raw] = response.metadata.get('grpc-status-details-bin');
    const decoded = Status.decode(raw as Buffer);
    expect(decoded.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(decoded.message).toBe(response.message);
    expect(decoded.details).toHaveLength(1);
    expect(decoded.details[0]?.typeUrl).toBe('type.googleapis.com/google.rpc.ErrorInfo');
    const info = ErrorInfo.decode(decoded.details[0]?.value as Uint8Array);
    expect(info).toEqual({ reason: 'INSUFFICIENT_FUNDS', domain: ERROR_DOMAIN, metadata: {} });
  });

  it('carries the facts of the reject as ErrorInfo metadata', () => {
    const facts = { available: '10.00', requested: '20.00', currency: 'USD' };
    const response = grpcErrorResponse(
      'INSUFFICIENT_FUNDS',
      'INSUFFICIENT_FUNDS: available 10.00 USD < 20.00 USD',
      facts,
    );
    const decoded = Status.decode(response.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(decoded.details.map((d) => d.typeUrl)).toEqual(['type.googleapis.com/google.rpc.ErrorInfo']);
    expect(ErrorInfo.decode(decoded.details[0]?.value as Uint8Array).metadata).toEqual(facts);
  });

  it.each([
    ['DEPENDENCY_UNAVAILABLE', { seconds: '0', nanos: 500_000_000 }],
    ['OVERLOADED', { seconds: '1', nanos: 0 }],
  ] as const)('adds google.rpc.RetryInfo to %s', (reason, retryDelay) => {
    const response = grpcErrorResponse(reason, `${reason}: later`);
    const decoded = Status.decode(response.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(decoded.details.map((d) => d.typeUrl)).toEqual([
      'type.googleapis.com/google.rpc.ErrorInfo',
      'type.googleapis.com/google.rpc.RetryInfo',
    ]);
    expect(RetryInfo.decode(decoded.details[1]?.value as Uint8Array)).toEqual({ retryDelay });
  });
});
