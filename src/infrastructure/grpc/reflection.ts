import { readFileSync } from 'node:fs';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

/** Reads a protobuf varint at `offset`; returns [value, next offset]. */
function readVarint(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = offset; i < bytes.length && shift < 35; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error('malformed descriptor set: bad varint');
}

/** The serialized FileDescriptorProtos of a FileDescriptorSet (field 1, repeated, length-delimited). */
export function splitFileDescriptorSet(set: Uint8Array): Uint8Array[] {
  const files: Uint8Array[] = [];
  let offset = 0;
  while (offset < set.length) {
    const [tag, afterTag] = readVarint(set, offset);
    if (tag !== ((1 << 3) | 2)) throw new Error(`malformed descriptor set: unexpected tag ${tag}`);
    const [length, start] = readVarint(set, afterTag);
    files.push(set.subarray(start, start + length));
    offset = start + length;
  }
  return files;
}

/**
 * Server reflection from the descriptor set buf built (src/generated/ledger.binpb), passed through
 * byte for byte. @grpc/reflection fed from proto-loader loses the leading dot of type names of
 * imported well-known types (grpc/grpc-node#2958), and grpcurl then cannot resolve
 * google.protobuf.Timestamp; the original descriptors do not have that problem.
 */
export function reflectionFromDescriptorSet(path: string): ReflectionService {
  const fileDescriptorProtos = splitFileDescriptorSet(readFileSync(path)).map((file) => Buffer.from(file));
  const definition = {
    descriptors: { format: 'Protocol Buffer 3 FileDescriptorProto', fileDescriptorProtos },
  } as unknown as PackageDefinition;
  return new ReflectionService(definition);
}
