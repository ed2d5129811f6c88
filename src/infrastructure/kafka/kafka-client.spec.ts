import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/config';
import { ConfigError } from '../../config/config-error';
import { kafkaSecurityOptions } from './kafka-client';

describe('Kafka TLS and SASL from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-security-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const ca = file('ca.pem', 'CA PEM');
  const cert = file('client.pem', 'CERT PEM');
  const key = file('client.key', 'KEY PEM');
  const security = (env: Record<string, string>) => kafkaSecurityOptions(loadConfig(env).kafka.security);

  it('is plaintext without settings', () => {
    expect(security({})).toEqual({});
  });

  it('TLS with the system CAs, with a CA file, and mutual TLS with a client certificate', () => {
    expect(security({ LEDGER_KAFKA_TLS: 'true' })).toEqual({ ssl: true });
    expect(security({ LEDGER_KAFKA_TLS: 'true', LEDGER_KAFKA_TLS_CA_FILE: ca })).toEqual({
      ssl: { rejectUnauthorized: true, ca: ['CA PEM'] },
    });
    expect(
      security({
        LEDGER_KAFKA_TLS: 'true',
        LEDGER_KAFKA_TLS_CA_FILE: ca,
        LEDGER_KAFKA_TLS_CERT_FILE: cert,
        LEDGER_KAFKA_TLS_KEY_FILE: key,
      }),
    ).toEqual({ ssl: { rejectUnauthorized: true, ca: ['CA PEM'], cert: 'CERT PEM', key: 'KEY PEM' } });
  });

  it('SASL (over TLS or not) with each mechanism', () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512']) {
      expect(
        security({
          LEDGER_KAFKA_SASL_MECHANISM: mechanism,
          LEDGER_KAFKA_SASL_USERNAME: 'ledger',
          LEDGER_KAFKA_SASL_PASSWORD: 's3cret',
        }),
      ).toEqual({ sasl: { mechanism, username: 'ledger', password: 's3cret' } });
    }
    expect(
      security({
        LEDGER_KAFKA_TLS: 'true',
        LEDGER_KAFKA_SASL_MECHANISM: 'scram-sha-512',
        LEDGER_KAFKA_SASL_USERNAME: 'ledger',
        LEDGER_KAFKA_SASL_PASSWORD: 's3cret',
      }),
    ).toEqual({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'ledger', password: 's3cret' } });
  });

  it('refuses incomplete or contradictory settings, naming the variable (and never the password)', () => {
    const refused = (env: Record<string, string>, variable: string): void => {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(variable);
      expect((error as Error).message).not.toContain('s3cret');
    };
    refused({ LEDGER_KAFKA_TLS: 'yes' }, 'LEDGER_KAFKA_TLS');
    refused({ LEDGER_KAFKA_TLS_CA_FILE: ca }, 'LEDGER_KAFKA_TLS_CA_FILE');
    refused(
      { LEDGER_KAFKA_TLS: 'true', LEDGER_KAFKA_TLS_CA_FILE: join(dir, 'missing.pem') },
      'LEDGER_KAFKA_TLS_CA_FILE',
    );
    refused({ LEDGER_KAFKA_TLS: 'true', LEDGER_KAFKA_TLS_CERT_FILE: cert }, 'LEDGER_KAFKA_TLS_KEY_FILE');
    refused({ LEDGER_KAFKA_TLS: 'true', LEDGER_KAFKA_TLS_KEY_FILE: key }, 'LEDGER_KAFKA_TLS_CERT_FILE');
    refused({ LEDGER_KAFKA_SASL_MECHANISM: 'gssapi' }, 'LEDGER_KAFKA_SASL_MECHANISM');
    refused(
      { LEDGER_KAFKA_SASL_MECHANISM: 'plain', LEDGER_KAFKA_SASL_PASSWORD: 's3cret' },
      'LEDGER_KAFKA_SASL_USERNAME',
    );
    refused(
      { LEDGER_KAFKA_SASL_MECHANISM: 'plain', LEDGER_KAFKA_SASL_USERNAME: 'ledger' },
      'LEDGER_KAFKA_SASL_PASSWORD',
    );
    refused({ LEDGER_KAFKA_SASL_PASSWORD: 's3cret' }, 'LEDGER_KAFKA_SASL_PASSWORD');
  });
});
