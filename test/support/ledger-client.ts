import { join } from 'node:path';
import {
  type ChannelCredentials,
  credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ErrorInfo, RetryInfo } from '../../src/generated/google/rpc/error_details';
import { Status } from '../../src/generated/google/rpc/status';

/**
 * A real gRPC client of ledger.v1.LedgerService, built from the proto at run time (not from the
 * server's code), with promise-returning calls. Field names are camelCase, 64-bit numbers strings.
 */
const definition = loadSync(join(__dirname, '../../proto/ledger/v1/ledger.proto'), {
  includeDirs: [join(__dirname, '../../proto')],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

type Unary = (
  request: object,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, reply: unknown) => void,
) => void;
type RawClient = Record<string, Unary> & { close(): void };

export type Reply = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class LedgerClient {
  private readonly raw: RawClient;

  /** Plaintext unless `creds` says otherwise (TLS tests pass credentials.createSsl(...)). */
  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure()) {
    const pkg = loadPackageDefinition(definition) as unknown as {
      ledger: {
        v1: { LedgerService: new (address: string, creds: ChannelCredentials) => RawClient };
      };
    };
    this.raw = new pkg.ledger.v1.LedgerService(address, creds);
  }

  /** Calls one RPC by its proto name (e.g. 'Reserve'); rejects with the ServiceError. */
  call(method: string, request: object, metadata: Metadata = new Metadata(), timeoutMs = 10_000): Promise<Reply> {
    const name = method.charAt(0).toLowerCase() + method.slice(1);
    const fn = this.raw[name];
    if (!fn) throw new Error(`no such RPC ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(this.raw, request, metadata, { deadline: new Date(Date.now() + timeoutMs) }, (error, reply) =>
        error ? reject(error) : resolve(reply as Reply),
      );
    });
  }

  close(): void {
    this.raw.close();
  }
}

export interface DecodedError {
  code: status;
  message: string;
  /** ErrorInfo.reason from grpc-status-details-bin, or undefined if absent */
  reason: string | undefined;
  domain: string | undefined;
  /** ErrorInfo.metadata (the facts of the reject) */
  metadata: Record<string, string>;
  /** google.rpc.RetryInfo's retry_delay in ms, or undefined if absent */
  retryDelayMs: number | undefined;
}

/** Reads the status, message and google.rpc.ErrorInfo of a failed call. */
export function decodeError(error: unknown): DecodedError {
  const e = error as ServiceError;
  if (typeof e?.code !== 'number') throw error;
  const raw = e.metadata?.get('grpc-status-details-bin')[0];
  let reason: string | undefined;
  let domain: string | undefined;
  let metadata: Record<string, string> = {};
  let retryDelayMs: number | undefined;
  if (raw instanceof Buffer) {
    const decoded = Status.decode(raw);
    for (const detail of decoded.details) {
      if (detail.typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo') {
        const info = ErrorInfo.decode(detail.value);
        reason = info.reason;
        domain = info.domain;
        metadata = info.metadata;
      }
      if (detail.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo') {
        const delay = RetryInfo.decode(detail.value).retryDelay;
        retryDelayMs = delay ? Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6) : 0;
      }
    }
  }
  return { code: e.code, message: e.details, reason, domain, metadata, retryDelayMs };
}

/** Awaits a call that must fail and returns its decoded error. */
export async function expectFailure(call: Promise<unknown>): Promise<DecodedError> {
  try {
    await call;
  } catch (error) {
    return decodeError(error);
  }
  throw new Error('expected the call to fail, but it succeeded');
}
