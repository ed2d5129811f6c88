import { hash } from 'node:crypto';
import type { RedisKeys } from './redis-keys';

export interface IdFilterOptions {
  /** bits of each bucket's filter */
  idFilterBits: number;
  /** bits set per id */
  idFilterHashes: number;
}

/** Where an idempotency key's bits live: the filter and its ready marker, in one bucket. */
export interface IdFilterSlot {
  filterKey: string;
  readyKey: string;
}

/**
 * The bits of an idempotency key ("res:<id>", "tx:<id>", "open:<account>", "commit:<scoped>", ...)
 * in a Bloom filter of `bits` bits: double hashing (h1 + i*h2) over one SHA-256, computed here so
 * that the script does no hashing. Pure and deterministic: the filter rebuild and the calls agree.
 */
export function idFilterBits(idempotencyKey: string, options: IdFilterOptions): string[] {
  const digest = hash('sha256', idempotencyKey, 'buffer');
  const h1 = digest.readUInt32BE(0);
  // Odd, so that the i*h2 steps never collapse onto one bit when bits is a power of two.
  const h2 = (digest.readUInt32BE(4) | 1) >>> 0; // `|` yields a signed int32: back to unsigned
  const bits = options.idFilterBits;
  const out: string[] = [];
  for (let i = 0; i < options.idFilterHashes; i++) {
    out.push(String((h1 + i * h2) % bits));
  }
  return out;
}

/**
 * The filter an idempotency key belongs to. Client-wide ids (tx, res) use their own bucket, beside
 * their claim; ids scoped to an account or a reservation (open, amend, commit) use the account's.
 */
export function idFilterSlot(keys: RedisKeys, idempotencyKey: string, accountId: string): IdFilterSlot {
  const colon = idempotencyKey.indexOf(':');
  const kind = idempotencyKey.slice(0, colon);
  const scope = kind === 'tx' || kind === 'res' ? idempotencyKey.slice(colon + 1) : accountId;
  const bucket = keys.bucketOf(scope);
  return { filterKey: keys.idFilterOfBucket(bucket), readyKey: keys.idFilterReadyOfBucket(bucket) };
}
