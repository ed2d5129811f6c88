import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { KafkaSecurity } from '../../config/kafka-security';

/**
 * The TLS and SASL part of a kafkajs client's configuration (the publisher's and the audit's),
 * from LEDGER_KAFKA_TLS* and LEDGER_KAFKA_SASL_*. Certificate files are read here, once, when the
 * client is made; the password goes to kafkajs only (never into a log line or an error).
 */
export function kafkaSecurityOptions(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const tls = security.tls;
  if (tls) {
    options.ssl =
      tls.caFile === undefined && tls.certFile === undefined
        ? true
        : {
            rejectUnauthorized: true,
            ...(tls.caFile === undefined ? {} : { ca: [readFileSync(tls.caFile, 'utf8')] }),
            ...(tls.certFile === undefined || tls.keyFile === undefined
              ? {}
              : { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8') }),
          };
  }
  if (security.sasl) {
    const { mechanism, username, password } = security.sasl;
    options.sasl = { mechanism, username, password } as SASLOptions;
  }
  return options;
}
