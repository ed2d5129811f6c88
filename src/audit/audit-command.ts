import { Pool } from 'pg';
import { type LedgerConfig, loadConfig } from '../config/config';
import { ConfigError } from '../config/config-error';
import { CurrencyRegistry, parseExtraAssets } from '../ledger/domain/currency';
import { ProtoMapper } from '../ledger/grpc/to-proto';
import { createRedisClient } from '../infrastructure/redis/redis-client';
import { type AuditOptions, DEFAULT_AUDIT_OPTIONS } from './audit-options';
import type { AuditResult } from './audit-result';
import { formatDifference } from './differences';
import { readTopic } from './kafka-reader';
import { LedgerAudit } from './ledger-audit';
import { AuditPostgres } from './postgres-reader';
import { AuditRedis } from './redis-reader';

/** Bound on one audit statement (the whole-table checks are joins over ledger_events). */
const STATEMENT_TIMEOUT_MS = 300_000;
/** Bound on one Redis round trip of the audit (a pipeline of up to 1000 reads). */
const REDIS_TIMEOUT_MS = 10_000;
/** Bound on reading the whole topic. */
const KAFKA_READ_TIMEOUT_MS = 600_000;

/**
 * Runs the audit against the stores of `config` (LEDGER_REDIS_URL, LEDGER_DATABASE_URL,
 * LEDGER_KAFKA_BROKERS / LEDGER_KAFKA_TOPIC, LEDGER_BUCKETS, LEDGER_EXTRA_ASSETS): opens its own
 * connections and closes them. Used by `npm run audit` and by the tests.
 */
export async function auditStores(config: LedgerConfig, options: Partial<AuditOptions> = {}): Promise<AuditResult> {
  const pool = new Pool({
    connectionString: config.postgres.url,
    max: 4,
    connectionTimeoutMillis: config.postgres.connectTimeoutMs,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'ledger-audit',
  });
  pool.on('error', () => undefined); // an idle client's error; the next query reports it
  const redis = createRedisClient(
    { ...config.redis, commandTimeoutMs: Math.max(config.redis.commandTimeoutMs, REDIS_TIMEOUT_MS) },
    'ledger-audit',
  );
  redis.on('error', () => undefined); // each failed command rejects with its own error
  try {
    await redis.connect();
    const audit = new LedgerAudit(
      {
        postgres: new AuditPostgres(pool),
        redis: new AuditRedis(redis, config.ledger.buckets),
        mapper: new ProtoMapper(new CurrencyRegistry(parseExtraAssets(config.ledger.extraAssets))),
        readTopic: (onBatch) =>
          readTopic(
            {
              brokers: config.kafka.brokers,
              topic: config.kafka.topic,
              clientId: `${config.kafka.clientId}-audit`,
              requestTimeoutMs: config.kafka.requestTimeoutMs,
              security: config.kafka.security,
              timeoutMs: KAFKA_READ_TIMEOUT_MS,
            },
            onBatch,
          ),
      },
      options,
    );
    return await audit.run();
  } finally {
    redis.disconnect();
    await pool.end().catch(() => undefined);
  }
}

const USAGE = `usage: npm run audit -- [--kafka] [--wait-ms N] [--max-differences N]
  --kafka              also read the Kafka topic and check every record against the store
  --wait-ms N          first wait up to N ms for the outbox (and Kafka queue) to drain (default ${DEFAULT_AUDIT_OPTIONS.waitDrainedMs})
  --max-differences N  print at most N differences (all are counted; default ${DEFAULT_AUDIT_OPTIONS.maxDifferences})
exit status: 0 no difference, 1 differences found, 2 the audit could not run, 78 bad configuration`;

export function parseArguments(argv: readonly string[]): Partial<AuditOptions> {
  const options: Partial<AuditOptions> = {};
  const number = (name: string, value: string | undefined): number => {
    if (value === undefined || !/^[0-9]+$/.test(value)) throw new ConfigError(name, `needs a whole number\n${USAGE}`);
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--kafka') options.kafka = true;
    else if (arg === '--wait-ms') options.waitDrainedMs = number(arg, argv[++i]);
    else if (arg === '--max-differences') options.maxDifferences = number(arg, argv[++i]);
    else throw new ConfigError(arg, `is not an option\n${USAGE}`);
  }
  return options;
}

function summaryLines(result: AuditResult): string[] {
  const s = result.summary;
  const lines = [
    `audit: ${s.accounts} accounts, ${s.events} events, ${s.reservations} reservations, ${s.idempotencyKeys} idempotency keys` +
      ` (${s.missingInRedis} accounts not in redis: rebuilt on first use; ${s.rechecked} re-read while changing)`,
    `audit: waiting at start: ${s.pendingAtStart.outbox} outbox events` +
      (s.pendingAtStart.kafkaQueue === undefined ? '' : `, ${s.pendingAtStart.kafkaQueue} kafka queue events`),
  ];
  if (s.kafka) lines.push(`audit: kafka: ${s.kafka.records} records (${s.kafka.duplicates} re-sent duplicates)`);
  for (const c of s.currencies)
    lines.push(`audit: ${c.currency}: ${c.accounts} accounts, balances ${c.balances} minor units`);
  const more = s.differences > result.differences.length ? ` (first ${result.differences.length} shown)` : '';
  lines.push(
    s.differences === 0
      ? `audit: OK in ${Math.round(s.seconds * 10) / 10} s`
      : `audit: FAILED: ${s.differences} differences in ${s.accountsWithDifferences} accounts${more}`,
  );
  return lines;
}

/**
 * kafkajs 2.2 sets a negative timer on every start (tulios/kafkajs#1751, never fixed): Node's
 * warning about it is noise on an operator's terminal. Every other warning is printed as usual.
 */
function quietKafkajsWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'TimeoutNegativeWarning') process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
}

async function main(): Promise<void> {
  quietKafkajsWarning();
  let config: LedgerConfig;
  let options: Partial<AuditOptions>;
  try {
    config = loadConfig();
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof ConfigError ? 78 : 2);
  }
  let printed = 0;
  const limit = options.maxDifferences ?? DEFAULT_AUDIT_OPTIONS.maxDifferences;
  try {
    const result = await auditStores(config, {
      ...options,
      // Streamed as found, so an operator sees the first ones at once.
      onDifference: (d) => {
        if (printed++ < limit) process.stdout.write(`DIFF ${formatDifference(d)}\n`);
      },
    });
    process.stdout.write(`${summaryLines(result).join('\n')}\n`);
    process.exit(result.summary.differences === 0 ? 0 : 1);
  } catch (error) {
    process.stderr.write(`audit: could not run: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}

if (require.main === module) void main();
