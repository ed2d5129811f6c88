import { join } from 'node:path';
import { credentials, loadPackageDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const definition = loadSync(join(__dirname, '../../proto/grpc/health/v1/health.proto'), {
  includeDirs: [join(__dirname, '../../proto')],
  enums: String,
});

type Check = (
  request: { service: string },
  options: { deadline: Date },
  callback: (error: ServiceError | null, reply: { status: string }) => void,
) => void;

/** A grpc.health.v1 client: Check(service) -> SERVING / NOT_SERVING / ... */
export class HealthClient {
  private readonly raw: { check: Check; close(): void };

  constructor(address: string) {
    const pkg = loadPackageDefinition(definition) as unknown as {
      grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => never } } };
    };
    this.raw = new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
  }

  check(service = 'ledger.v1.LedgerService', timeoutMs = 2000): Promise<string> {
    return new Promise((resolve, reject) => {
      this.raw.check({ service }, { deadline: new Date(Date.now() + timeoutMs) }, (error, reply) =>
        error ? reject(error) : resolve(reply.status),
      );
    });
  }

  close(): void {
    this.raw.close();
  }
}

/** GET /health/ready: the HTTP status and body. */
export async function readiness(httpUrl: string): Promise<{ code: number; body: Record<string, unknown> }> {
  const response = await fetch(`${httpUrl}/health/ready`);
  return { code: response.status, body: (await response.json()) as Record<string, unknown> };
}
