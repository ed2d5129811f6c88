/**
 * What the audit reports: one difference names the account (or, for a per-currency total, the
 * currency) and the field that disagrees, with the values each side holds.
 */
export interface Difference {
  /** account id; for a per-currency check "currency USD" */
  account: string;
  /** e.g. "balance", "reservations[ord-42].committed", "postgres.version", "kafka[v3].amount" */
  field: string;
  /** e.g. "redis 1000 != postgres 990 (minor units)" */
  detail: string;
}

/** Where a pass of the audit sends the differences it finds (LedgerAudit counts and keeps them). */
export type ReportDifferences = (differences: readonly Difference[]) => void;

export function formatDifference(d: Difference): string {
  return `account ${d.account} field ${d.field}: ${d.detail}`;
}

/** JSON with object keys sorted, so that two equal maps compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) {
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/**
 * Compares named fields of two records and adds one difference per field that differs. `sides`
 * names the two sources in the detail (e.g. ["redis", "postgres"]).
 */
export function compareFields(
  out: Difference[],
  account: string,
  prefix: string,
  sides: readonly [string, string],
  actual: object,
  expected: object,
  fields: readonly string[],
): void {
  for (const field of fields) {
    const a = canonical((actual as Record<string, unknown>)[field]);
    const e = canonical((expected as Record<string, unknown>)[field]);
    if (a !== e) out.push({ account, field: `${prefix}${field}`, detail: `${sides[0]} ${a} != ${sides[1]} ${e}` });
  }
}
