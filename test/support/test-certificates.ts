import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A key and its certificate as files (PEM). */
export interface CertificateFiles {
  cert: string;
  key: string;
}

/**
 * Throw-away certificates made with the openssl CLI (P-256 keys, valid for a day): a CA, server
 * certificates for localhost / 127.0.0.1, client certificates, and a second CA nobody trusts.
 */
export class TestCertificates {
  readonly dir = mkdtempSync(join(tmpdir(), 'ledger-certs-'));

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  /** A self-signed CA. */
  ca(name: string): CertificateFiles {
    const files = { cert: this.path(`${name}.crt`), key: this.path(`${name}.key`) };
    this.openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      files.key,
      '-out',
      files.cert,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    return files;
  }

  /** A certificate signed by `ca`, for a server (localhost, 127.0.0.1) or a client. */
  signed(name: string, ca: CertificateFiles, use: 'server' | 'client'): CertificateFiles {
    const files = { cert: this.path(`${name}.crt`), key: this.path(`${name}.key`) };
    const csr = this.path(`${name}.csr`);
    const ext = this.path(`${name}.ext`);
    writeFileSync(
      ext,
      use === 'server'
        ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
        : 'extendedKeyUsage=clientAuth\n',
    );
    this.openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      files.key,
      '-out',
      csr,
      '-subj',
      `/CN=${name}`,
    );
    this.openssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-out',
      files.cert,
      '-days',
      '1',
      '-extfile',
      ext,
    );
    return files;
  }

  /** Replaces `target`'s files by `source`'s atomically (rename), as a certificate rotation does. */
  rotate(target: CertificateFiles, source: CertificateFiles): void {
    for (const [to, from] of [
      [target.cert, source.cert],
      [target.key, source.key],
    ] as const) {
      writeFileSync(`${to}.next`, readFileSync(from));
      renameSync(`${to}.next`, to);
    }
  }

  read(file: string): Buffer {
    return readFileSync(file);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
