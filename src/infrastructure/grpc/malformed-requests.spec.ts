import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { of } from 'rxjs';
import { LedgerError } from '../../ledger/domain/errors';
import { markMalformedRequests, RejectMalformedRequests } from './malformed-requests';

const PROTO = join(__dirname, '../../../proto');

function definition(): Record<string, Record<string, { requestDeserialize: (b: Buffer) => unknown }>> {
  const def = loadSync(join(PROTO, 'ledger/v1/ledger.proto'), { includeDirs: [PROTO], keepCase: false });
  markMalformedRequests(def as unknown as Record<string, unknown>);
  return def as unknown as Record<string, Record<string, { requestDeserialize: (b: Buffer) => unknown }>>;
}

function contextOf(request: unknown): ExecutionContext {
  return { getArgByIndex: () => request } as unknown as ExecutionContext;
}

describe('malformed request bytes', () => {
  const reserve = definition()['ledger.v1.LedgerService']?.['Reserve'];

  it('still decodes good bytes as before', () => {
    // field 1 (reservation_id) = "r1"
    expect(reserve?.requestDeserialize(Buffer.from([0x0a, 0x02, 0x72, 0x31]))).toMatchObject({ reservationId: 'r1' });
  });

  it('turns bytes that do not decode into INVALID_ARGUMENT naming the message, before the handler', () => {
    // a varint that never ends: protobufjs throws "index out of range"
    const marked = reserve?.requestDeserialize(Buffer.from([0xff, 0xff, 0xff]));
    let handled = false;
    const next: CallHandler = { handle: () => ((handled = true), of('reply')) };
    expect(() => new RejectMalformedRequests().intercept(contextOf(marked), next)).toThrow(LedgerError);
    try {
      new RejectMalformedRequests().intercept(contextOf(marked), next);
    } catch (error) {
      expect((error as LedgerError).reason).toBe('INVALID_ARGUMENT');
      expect((error as LedgerError).message).toMatch(
        /^INVALID_ARGUMENT: the request is not a valid ledger\.v1\.ReserveRequest message \(.+\)$/,
      );
    }
    expect(handled).toBe(false);
  });

  it('lets a decoded request through to the handler', () => {
    let handled = false;
    const next: CallHandler = { handle: () => ((handled = true), of('reply')) };
    new RejectMalformedRequests().intercept(contextOf({ reservationId: 'r1' }), next);
    expect(handled).toBe(true);
  });
});
