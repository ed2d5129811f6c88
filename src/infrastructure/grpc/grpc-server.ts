import { join } from 'node:path';
import { experimental, type Server, type ServerCredentials } from '@grpc/grpc-js';
import { type GrpcOptions, Transport } from '@nestjs/microservices';
import type { HealthImplementation } from 'grpc-health-check';
import type { LedgerConfig } from '../../config/config';
import { markMalformedRequests } from './malformed-requests';
import { reflectionFromDescriptorSet } from './reflection';

/** The repository root, from src/ (ts-jest) or dist/src/ (built) alike. */
function repositoryRoot(): string {
  return __dirname.includes(join('dist', 'src')) ? join(__dirname, '../../../..') : join(__dirname, '../../..');
}

function protoRoot(): string {
  return join(repositoryRoot(), 'proto');
}

/**
 * TLS from PEM files, re-read every `reloadMs` (a rotated certificate is served without a
 * restart; replace the files atomically, e.g. by rename). With a client CA, mutual TLS: a client
 * without a certificate signed by it is refused in the handshake. Undefined: plaintext (only for
 * a loopback address or behind a mesh that does TLS).
 */
export async function serverCredentials(tls: LedgerConfig['grpc']['tls']): Promise<ServerCredentials | undefined> {
  if (!tls) return undefined;
  const files = new experimental.FileWatcherCertificateProvider({
    certificateFile: tls.certFile,
    privateKeyFile: tls.keyFile,
    caCertificateFile: tls.clientCaFile,
    refreshIntervalMs: tls.reloadMs,
  });
  // Read once before the port opens: the provider reads asynchronously, and until then the
  // server drops every handshake. The server's own listener then starts from this read.
  await new Promise<void>((resolve) => {
    const loaded = (): void => {
      files.removeIdentityCertificateListener(loaded);
      resolve();
    };
    files.addIdentityCertificateListener(loaded);
  });
  // grpc-js 1.14 takes the identity provider first and the client CA provider second (its
  // typings name them the other way round).
  return experimental.createCertificateProviderServerCredentials(
    files,
    tls.clientCaFile ? files : null,
    tls.clientCaFile !== undefined,
  );
}

/** Where the grpc-js server is kept once Nest made it (the graceful shutdown closes it first, bounded). */
export interface GrpcServerRef {
  server: Server | undefined;
}

/**
 * The gRPC server: ledger.v1.LedgerService, plus grpc.health.v1 and server reflection so that
 * grpcurl and load balancers work without the proto file.
 */
export function grpcServerOptions(
  config: LedgerConfig,
  health: HealthImplementation,
  ref: GrpcServerRef = { server: undefined },
  credentials: ServerCredentials | undefined = undefined,
): GrpcOptions {
  return {
    transport: Transport.GRPC,
    options: {
      url: config.grpc.address,
      package: 'ledger.v1',
      protoPath: join(protoRoot(), 'ledger/v1/ledger.proto'),
      loader: {
        includeDirs: [protoRoot()],
        keepCase: false,
        longs: String,
        defaults: true,
        oneofs: true,
        arrays: true,
        objects: true,
      },
      maxReceiveMessageLength: config.grpc.maxMessageBytes,
      maxSendMessageLength: config.grpc.maxMessageBytes,
      credentials,
      channelOptions: {
        'grpc.keepalive_time_ms': config.grpc.keepaliveTimeMs,
        'grpc.keepalive_timeout_ms': config.grpc.keepaliveTimeoutMs,
        // A connection past its age is closed like a shutdown: its calls get the same drain time.
        ...(config.grpc.maxConnectionAgeMs > 0
          ? {
              'grpc.max_connection_age_ms': config.grpc.maxConnectionAgeMs,
              'grpc.max_connection_age_grace_ms': config.shutdown.drainMs,
            }
          : {}),
      },
      gracefulShutdown: true,
      onLoadPackageDefinition: (definition: Record<string, unknown>, server: Server) => {
        markMalformedRequests(definition);
        ref.server = server;
        reflectionFromDescriptorSet(join(repositoryRoot(), 'src/generated/ledger.binpb')).addToServer(server);
        health.addToServer(server);
      },
    },
  };
}
