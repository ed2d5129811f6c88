import type { Difference } from './differences';

/** What LedgerAudit returns: the counts of a run, and the differences it kept. */
export interface AuditSummary {
  accounts: number;
  events: number;
  reservations: number;
  idempotencyKeys: number;
  /** accounts Redis does not hold (rebuilt from the store on first use) */
  missingInRedis: number;
  /** accounts read again because they changed during the audit */
  rechecked: number;
  /** events waiting when the audit began, after its wait */
  pendingAtStart: { outbox: number; kafkaQueue: number | undefined };
  kafka: { records: number; duplicates: number } | undefined;
  currencies: { currency: string; accounts: number; balances: string }[];
  differences: number;
  accountsWithDifferences: number;
  seconds: number;
}

export interface AuditResult {
  summary: AuditSummary;
  /** the first maxDifferences */
  differences: Difference[];
}
