import { join } from 'node:path';
import type { Server } from '@grpc/grpc-js';
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
