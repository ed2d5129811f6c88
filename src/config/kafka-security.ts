import { ConfigError } from './config-error';
import { type Env, flag, oneOf, readableFile, text } from './env-values';

/** How the service reaches Kafka: plaintext by default; TLS (optionally mutual) and/or SASL. */
export interface KafkaSecurity {
  /** undefined: plaintext */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** undefined: no SASL */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/**
 * LEDGER_KAFKA_TLS=true (server certificate checked against LEDGER_KAFKA_TLS_CA_FILE, or the
 * system's CAs), a client certificate with LEDGER_KAFKA_TLS_CERT_FILE + _KEY_FILE (mutual TLS);
 * LEDGER_KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512) with _USERNAME and _PASSWORD.
 * SASL without TLS (SASL_PLAINTEXT) is allowed: some networks encrypt below Kafka.
 */
export function kafkaSecurity(env: Env): KafkaSecurity {
  const tlsOn = flag(env, 'LEDGER_KAFKA_TLS', false);
  const caFile = readableFile(env, 'LEDGER_KAFKA_TLS_CA_FILE');
  const certFile = readableFile(env, 'LEDGER_KAFKA_TLS_CERT_FILE');
  const keyFile = readableFile(env, 'LEDGER_KAFKA_TLS_KEY_FILE');
  for (const [name, file] of [
    ['LEDGER_KAFKA_TLS_CA_FILE', caFile],
    ['LEDGER_KAFKA_TLS_CERT_FILE', certFile],
    ['LEDGER_KAFKA_TLS_KEY_FILE', keyFile],
  ] as const) {
    if (file !== undefined && !tlsOn) throw new ConfigError(name, 'is set but LEDGER_KAFKA_TLS is not true');
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const [missing, given] =
      certFile === undefined
        ? ['LEDGER_KAFKA_TLS_CERT_FILE', 'LEDGER_KAFKA_TLS_KEY_FILE']
        : ['LEDGER_KAFKA_TLS_KEY_FILE', 'LEDGER_KAFKA_TLS_CERT_FILE'];
    throw new ConfigError(missing, `is needed with ${given}`);
  }
  const security: KafkaSecurity = {};
  if (tlsOn) security.tls = { caFile, certFile, keyFile };
  const mechanism = oneOf(env, 'LEDGER_KAFKA_SASL_MECHANISM', 'none', [
    'none',
    'plain',
    'scram-sha-256',
    'scram-sha-512',
  ]);
  const username = text(env, 'LEDGER_KAFKA_SASL_USERNAME', '');
  const password = text(env, 'LEDGER_KAFKA_SASL_PASSWORD', '');
  if (mechanism === 'none') {
    if (username !== '')
      throw new ConfigError('LEDGER_KAFKA_SASL_USERNAME', 'is set but LEDGER_KAFKA_SASL_MECHANISM is not');
    if (password !== '')
      throw new ConfigError('LEDGER_KAFKA_SASL_PASSWORD', 'is set but LEDGER_KAFKA_SASL_MECHANISM is not');
    return security;
  }
  if (username === '') throw new ConfigError('LEDGER_KAFKA_SASL_USERNAME', `is needed with SASL ${mechanism}`);
  if (password === '') throw new ConfigError('LEDGER_KAFKA_SASL_PASSWORD', `is needed with SASL ${mechanism}`);
  security.sasl = { mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password };
  return security;
}
