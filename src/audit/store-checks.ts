import type { AuditOptions, AuditSources } from './audit-options';
import type { ReportDifferences } from './differences';

/** Whole-store checks Postgres runs: orphan idempotency records, transfer pairs, conflicts. */
export async function checkStore(
  sources: AuditSources,
  options: AuditOptions,
  report: ReportDifferences,
): Promise<void> {
  const { postgres } = sources;
  for await (const orphans of postgres.orphanIdempotency(options.pageSize)) {
    report(
      orphans.map((o) => ({
        account: o.accountId,
        field: `idempotency[${o.key}]`,
        detail: o.event
          ? `ledger_idempotency v${o.version} names event ${o.eventId}, which is ${o.event.key} v${o.event.version} of ${o.event.accountId}`
          : `ledger_idempotency v${o.version} names event ${o.eventId}, which is not stored`,
      })),
    );
  }
  for (const t of await postgres.transferProblems(options.maxDifferences)) {
    const side = (s: typeof t.debit) =>
      s ? `${s.accountId} -> ${s.counterparty} ${s.amount} ${s.currency}` : 'missing';
    report([
      {
        account: t.debit?.accountId ?? t.credit?.accountId ?? '',
        field: `transfer[${t.reference}]`,
        detail: `debit ${side(t.debit)}, credit ${side(t.credit)}`,
      },
    ]);
  }
  for (const c of await postgres.conflicts(options.maxDifferences)) {
    report([
      {
        account: c.accountId,
        field: 'postgres.conflicts',
        detail: `outbox event ${c.eventId} v${c.version} conflicts with a stored event (ledger_event_conflicts)`,
      },
    ]);
  }
}
