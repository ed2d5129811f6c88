import { hash } from 'node:crypto';

/** A call parameter: every call's parameters are flat (metadata is hashed as its JSON text). */
export type ParameterValue = string | number | bigint | boolean;

/**
 * What identifies a call beyond its id: the same id with other parameters is a conflict, so each
 * mutating call carries a stable digest of its parameters (the scripts store it with the reply,
 * the event store keeps it forever, so the digest of given parameters must never change).
 * The digest is of `JSON.stringify([kind, params])` with the keys sorted and bigints as decimal
 * strings (canonicalJson); it is built by hand because the generic replacer cost a few
 * microseconds of every call.
 */
export function parameterHash(kind: string, params: Readonly<Record<string, ParameterValue>>): string {
  return hash('sha256', canonicalJson(kind, params)).slice(0, 32);
}

/**
 * `JSON.stringify([kind, params])` with the keys in code-unit order and bigints as strings. Keys
 * are parameter names: an integer-like key would break the equivalence (an object lists those
 * first), and none is used.
 */
export function canonicalJson(kind: string, params: Readonly<Record<string, ParameterValue>>): string {
  const keys = Object.keys(params).sort();
  let json = `[${JSON.stringify(kind)},{`;
  let first = true;
  for (const key of keys) {
    const value = params[key];
    // JSON.stringify leaves out undefined members; the type forbids them, a caller may not.
    if (value === undefined) continue;
    json += `${first ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(typeof value === 'bigint' ? value.toString() : value)}`;
    first = false;
  }
  return `${json}}]`;
}

/** Metadata as stored: JSON with sorted keys, so that equal maps compare equal. */
export function metadataJson(metadata: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** An id scoped to a reservation (commit_id, amend_id), unambiguous whatever characters both hold. */
export function scopedId(reservationId: string, id: string): string {
  return `${reservationId.length}:${reservationId}:${id}`;
}
