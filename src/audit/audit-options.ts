import type { ProtoMapper } from '../ledger/grpc/to-proto';
import type { Difference } from './differences';
import type { TopicRecord } from './kafka-audit';
import type { AuditPostgres } from './postgres-reader';
import type { AuditRedis } from './redis-reader';

/** What LedgerAudit is given: how to run (AuditOptions) and what to read (AuditSources). */
export interface AuditOptions {
  /** also read the topic and check it against the store */
  kafka: boolean;
  /** first wait (at most this long) for the outbox (and, with kafka, the Kafka queue) to drain */
  waitDrainedMs: number;
  /** differences kept in the result (all are counted, and all reach onDifference) */
  maxDifferences: number;
  /** an account that differs while it is still changing is read again, this many times ... */
  recheckTimes: number;
  /** ... this long apart */
  recheckDelayMs: number;
  /** events per Postgres page */
  pageSize: number;
  /** accounts per Redis/Postgres round of lookups */
  groupSize: number;
  onDifference?: (difference: Difference) => void;
}

export const DEFAULT_AUDIT_OPTIONS: AuditOptions = {
  kafka: false,
  waitDrainedMs: 30_000,
  maxDifferences: 1000,
  recheckTimes: 3,
  recheckDelayMs: 500,
  pageSize: 5000,
  groupSize: 200,
};

export interface AuditSources {
  postgres: AuditPostgres;
  redis: AuditRedis;
  /** reads the topic to its current end (see kafka-reader.ts); false when the topic does not exist */
  readTopic?: (onBatch: (records: TopicRecord[]) => Promise<void>) => Promise<boolean>;
  mapper: ProtoMapper;
}
