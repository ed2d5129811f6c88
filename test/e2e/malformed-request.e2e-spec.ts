import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { decodeError } from '../support/ledger-client';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import { expectReason, figures, LedgerDriver } from '../support/ledger-expect';

/**
 * Request bytes that are not a protobuf message of the method's request type (found from the
 * outside: grpc-js answered INTERNAL "Error deserializing request") get INVALID_ARGUMENT with the
 * contract's ErrorInfo and a reason naming the message, and change nothing.
 */
describe('malformed request bytes', () => {
  let ledger: RunningLedger;
  let raw: Client;

  beforeAll(async () => {
    ledger = await startLedger();
    raw = new Client(ledger.grpcAddress, credentials.createInsecure());
  });

  afterAll(async () => {
    raw?.close();
    await ledger?.close();
  });

  /** Sends `bytes` as the request of `method`, as a client with a broken serializer would. */
  function send(method: string, bytes: Buffer): Promise<unknown> {
    return new Promise((resolve, reject) => {
      raw.makeUnaryRequest(
        `/ledger.v1.LedgerService/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        new Metadata(),
        { deadline: new Date(Date.now() + 5000) },
        (error: ServiceError | null, reply?: Buffer) => (error ? reject(error) : resolve(reply)),
      );
    });
  }

  it.each(['Reserve', 'Deposit', 'GetAccount'])('%s: INVALID_ARGUMENT naming the request type', async (method) => {
    const error = await send(method, Buffer.from([0xff, 0xff, 0xff])).then(
      () => {
        throw new Error('expected the call to fail');
      },
      (e: unknown) => decodeError(e),
    );
    expectReason(error, 'INVALID_ARGUMENT');
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.message).toMatch(
      new RegExp(`^INVALID_ARGUMENT: the request is not a valid ledger\\.v1\\.${method}Request message \\(.+\\)$`),
    );
  });

  it('changes nothing, and the next well-formed call is served', async () => {
    const l = new LedgerDriver(ledger.client);
    const accountId = await l.funded('10.00');
    await expect(send('Withdraw', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff]))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    expect(figures(await l.account(accountId))).toEqual({
      balance: '10.00',
      held: '0.00',
      available: '10.00',
      version: '2',
    });
    const reply = await ledger.client.call('Withdraw', {
      transactionId: uid('wd'),
      accountId,
      amount: { amount: '1.00', currency: 'USD' },
    });
    expect(reply['account']['balance']).toBe('9.00');
  });
});
