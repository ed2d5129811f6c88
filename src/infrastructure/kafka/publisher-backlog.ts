import type { Pool } from 'pg';

/** The stored events after `from` (not yet published) and the age of the oldest, in seconds (0 when none waits). */
export function unpublishedBacklog(pool: Pool, from: number): Promise<{ pending: number; oldestAgeSeconds: number }> {
  return pool
    .query<{ n: string; age: number | null }>({
      name: 'ledger_publisher_backlog',
      text: `SELECT count(*)::text AS n,
                      extract(epoch FROM now() - (SELECT recorded_at FROM ledger_events WHERE global_seq > $1
                                                   ORDER BY global_seq LIMIT 1))::float8 AS age
                 FROM ledger_events WHERE global_seq > $1`,
      values: [from],
    })
    .then(({ rows }) => ({ pending: Number(rows[0]?.n ?? 0), oldestAgeSeconds: Number(rows[0]?.age ?? 0) }));
}
