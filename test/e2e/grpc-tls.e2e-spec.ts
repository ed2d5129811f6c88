import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status } from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/config';
import { type RunningLedger, startLedger, uid } from '../support/ledger-app';
import { decodeError, LedgerClient } from '../support/ledger-client';
import { type CertificateFiles, TestCertificates } from '../support/test-certificates';

/**
 * gRPC over TLS and mutual TLS, from PEM files made here with openssl: a client that trusts the
 * server's CA is served; a plaintext client, a client trusting another CA, and (with mutual TLS)
 * a client without a certificate or with one from an unknown CA are refused; a certificate
 * replaced on disk is served without a restart.
 */
describe('gRPC TLS and mutual TLS', () => {
  const certs = new TestCertificates();
  let ca: CertificateFiles;
  let otherCa: CertificateFiles;
  let server: CertificateFiles;
  let client: CertificateFiles;
  let stranger: CertificateFiles;

  beforeAll(() => {
    ca = certs.ca('ledger-test-ca');
    otherCa = certs.ca('other-ca');
    server = certs.signed('server', ca, 'server');
    client = certs.signed('order-service', ca, 'client');
    stranger = certs.signed('stranger', otherCa, 'client');
  });

  afterAll(() => certs.remove());

  /** GetAccount of an unknown id: NOT_FOUND means the call got through TLS to the service. */
  async function attempt(ledger: RunningLedger, creds: ReturnType<typeof credentials.createInsecure>): Promise<string> {
    const c = new LedgerClient(ledger.grpcAddress, creds);
    try {
      await c.call('GetAccount', { accountId: uid('tls') }, undefined, 3000);
      return 'OK';
    } catch (error) {
      const e = decodeError(error);
      return e.code === status.NOT_FOUND ? 'served' : `refused (${status[e.code]})`;
    } finally {
      c.close();
    }
  }

  const trusting = (caFile: string, identity?: CertificateFiles) =>
    credentials.createSsl(
      certs.read(caFile),
      identity ? certs.read(identity.key) : null,
      identity ? certs.read(identity.cert) : null,
    );

  it('TLS: served over TLS to a client trusting its CA; plaintext and other CAs refused', async () => {
    const ledger = await startLedger({ LEDGER_GRPC_TLS_CERT_FILE: server.cert, LEDGER_GRPC_TLS_KEY_FILE: server.key });
    try {
      expect({
        trusted: await attempt(ledger, trusting(ca.cert)),
        plaintext: await attempt(ledger, credentials.createInsecure()),
        otherCa: await attempt(ledger, trusting(otherCa.cert)),
      }).toEqual({ trusted: 'served', plaintext: 'refused (UNAVAILABLE)', otherCa: 'refused (UNAVAILABLE)' });
    } finally {
      await ledger.close();
    }
  });

  it('mutual TLS: a client certificate from the client CA is required', async () => {
    const ledger = await startLedger({
      LEDGER_GRPC_TLS_CERT_FILE: server.cert,
      LEDGER_GRPC_TLS_KEY_FILE: server.key,
      LEDGER_GRPC_TLS_CLIENT_CA_FILE: ca.cert,
    });
    try {
      expect({
        withCertificate: await attempt(ledger, trusting(ca.cert, client)),
        withoutCertificate: await attempt(ledger, trusting(ca.cert)),
        unknownCa: await attempt(ledger, trusting(ca.cert, stranger)),
        plaintext: await attempt(ledger, credentials.createInsecure()),
      }).toEqual({
        withCertificate: 'served',
        withoutCertificate: 'refused (UNAVAILABLE)',
        unknownCa: 'refused (UNAVAILABLE)',
        plaintext: 'refused (UNAVAILABLE)',
      });
    } finally {
      await ledger.close();
    }
  });

  it('reloads a certificate replaced on disk, without a restart', async () => {
    const live = certs.signed('live-server', ca, 'server');
    const ledger = await startLedger({
      LEDGER_GRPC_TLS_CERT_FILE: live.cert,
      LEDGER_GRPC_TLS_KEY_FILE: live.key,
      LEDGER_GRPC_TLS_RELOAD_MS: '200',
    });
    try {
      expect(await attempt(ledger, trusting(ca.cert))).toBe('served');
      certs.rotate(live, certs.signed('rotated-server', otherCa, 'server'));
      let seen = '';
      for (let i = 0; i < 30 && seen !== 'served'; i++) {
        await sleep(100);
        seen = await attempt(ledger, trusting(otherCa.cert));
      }
      expect(seen).toBe('served');
      expect(await attempt(ledger, trusting(ca.cert))).toBe('refused (UNAVAILABLE)');
    } finally {
      await ledger.close();
    }
  });

  it('refuses to start with half a TLS configuration or an unreadable file, naming the variable', () => {
    expect(() => loadConfig({ LEDGER_GRPC_TLS_CERT_FILE: server.cert })).toThrow(/LEDGER_GRPC_TLS_KEY_FILE is needed/);
    expect(() =>
      loadConfig({ LEDGER_GRPC_TLS_CERT_FILE: server.cert, LEDGER_GRPC_TLS_KEY_FILE: `${certs.dir}/missing.key` }),
    ).toThrow(/LEDGER_GRPC_TLS_KEY_FILE names a file that cannot be read/);
    expect(() => loadConfig({ LEDGER_GRPC_TLS_CLIENT_CA_FILE: ca.cert })).toThrow(
      /LEDGER_GRPC_TLS_CLIENT_CA_FILE needs/,
    );
  });
});
