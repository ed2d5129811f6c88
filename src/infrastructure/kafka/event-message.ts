import type { Message } from 'kafkajs';
import { AccountEvent } from '../../generated/ledger/v1/ledger';
import type { LedgerEvent } from '../../ledger/domain/events';
import type { ProtoMapper } from '../../ledger/grpc/to-proto';

/**
 * An event as its Kafka message: key = account_id (an account's events share a partition), value =
 * the contract's AccountEvent, headers event-id / event-type / traceparent.
 */
export function eventMessage(event: LedgerEvent, toProto: ProtoMapper): Message {
  return {
    key: event.accountId,
    value: bufferOf(AccountEvent.encode(toProto.event(event)).finish()),
    headers: { 'event-id': event.eventId, 'event-type': event.type, traceparent: event.traceparent },
  };
}

/** The encoded bytes as a Buffer (kafkajs wants one) without copying them. */
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
