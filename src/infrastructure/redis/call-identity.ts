import { hash } from 'node:crypto';

/**
 * What identifies a call beyond its id: the same id with other parameters is a conflict, so each
 * mutating call carries a stable digest of its parameters (the scripts store it with the reply,
 * the event store keeps it forever, so the digest of given parameters must never change).
 */
export function parameterHash(kind: string, params: Record<string, unknown>): string {
  const canonical = JSON.stringify([kind, params], (_, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return value;
  });
  return hash('sha256', canonical).slice(0, 32);
}

/** Metadata as stored: JSON with sorted keys, so that equal maps compare equal. */
export function metadataJson(metadata: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** An id scoped to a reservation (commit_id, amend_id), unambiguous whatever characters both hold. */
export function scopedId(reservationId: string, id: string): string {
  return `${reservationId.length}:${reservationId}:${id}`;
}
