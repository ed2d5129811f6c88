import { loadSync, type Options } from '@grpc/proto-loader';

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

interface MethodShape {
  path?: unknown;
  requestStream?: unknown;
  responseStream?: unknown;
}

/**
 * The grpc_type label of each method path ("/ledger.v1.LedgerService/Reserve" -> "unary"), read
 * from the proto the server is built from. The call objects cannot tell: grpc-js hands a unary
 * handler the same writable stream object as a server-streaming one.
 */
export function grpcMethodTypes(protoPath: string, loader: Options): Map<string, GrpcType> {
  const types = new Map<string, GrpcType>();
  const definition = loadSync(protoPath, loader) as Record<string, unknown>;
  for (const service of Object.values(definition)) {
    if (typeof service !== 'object' || service === null || 'format' in service) continue; // messages, enums
    for (const method of Object.values(service as Record<string, MethodShape>)) {
      if (typeof method?.path !== 'string') continue;
      const inStream = method.requestStream === true;
      const outStream = method.responseStream === true;
      types.set(
        method.path,
        inStream && outStream ? 'bidi_stream' : inStream ? 'client_stream' : outStream ? 'server_stream' : 'unary',
      );
    }
  }
  return types;
}
