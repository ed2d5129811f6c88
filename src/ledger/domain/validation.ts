/**
 * Input validation of identifiers and free-text fields. Every failure is a
 * LedgerError('INVALID_ARGUMENT') whose detail names the field.
 *
 * Lengths of free text (metadata, reason) count Unicode code points, so "é" or "한" is one char.
 */
import { LedgerError } from './errors';

export const ACCOUNT_ID_MAX_LENGTH = 64;
export const REQUEST_ID_MAX_LENGTH = 128;
export const METADATA_MAX_ENTRIES = 16;
export const METADATA_KEY_MAX_LENGTH = 64;
export const METADATA_VALUE_MAX_LENGTH = 256;
export const REASON_MAX_LENGTH = 256;
/** One year; 0 means the reservation never expires. */
export const TTL_MAX_SECONDS = 31_536_000;

const ACCOUNT_ID = /^[A-Za-z0-9._:-]+$/;
/** Printable ASCII without space: 0x21..0x7E. */
const REQUEST_ID = /^[\x21-\x7e]+$/;

function invalid(field: string, detail: string): LedgerError {
  return new LedgerError('INVALID_ARGUMENT', `${field} ${detail}`);
}

/** Quotes caller text for a detail, truncated so that huge inputs never reach the logs in full. */
function quote(text: string, max = 70): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);
}

/** Code-point length, but never walks more than `limit + 1` code points. */
function exceeds(text: string, limit: number): boolean {
  if (text.length <= limit) return false; // UTF-16 length >= code points
  if (text.length > limit * 2) return true; // each code point is at most 2 UTF-16 units
  let n = 0;
  for (const _ of text) {
    n += 1;
    if (n > limit) return true;
  }
  return false;
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

function assertString(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string') throw invalid(field, `must be a string, got ${typeof value}`);
}

/** 1-64 chars of [A-Za-z0-9._:-]. */
export function validateAccountId(id: string, field = 'account_id'): void {
  assertString(id, field);
  if (id.length === 0) throw invalid(field, 'is required (1-64 chars of [A-Za-z0-9._:-])');
  if (id.length > ACCOUNT_ID_MAX_LENGTH) {
    throw invalid(field, `${quote(id)} is too long (${id.length} chars, at most ${ACCOUNT_ID_MAX_LENGTH})`);
  }
  if (!ACCOUNT_ID.test(id)) throw invalid(field, `${quote(id)} may contain only [A-Za-z0-9._:-]`);
}

/** Client idempotency ids: 1-128 chars of printable ASCII (0x21-0x7E), no spaces or control chars. */
export function validateRequestId(id: string, field: string): void {
  assertString(id, field);
  if (id.length === 0) throw invalid(field, 'is required (1-128 printable ASCII chars)');
  if (id.length > REQUEST_ID_MAX_LENGTH) {
    throw invalid(field, `${quote(id)} is too long (${id.length} chars, at most ${REQUEST_ID_MAX_LENGTH})`);
  }
  if (!REQUEST_ID.test(id)) {
    throw invalid(field, `${quote(id)} may contain only printable ASCII without spaces (0x21-0x7E)`);
  }
}

/** At most 16 entries; keys 1-64 chars; values at most 256 chars. */
export function validateMetadata(meta: Record<string, string>, field = 'metadata'): void {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw invalid(field, 'must be a map of string to string');
  }
  const keys = Object.keys(meta);
  if (keys.length > METADATA_MAX_ENTRIES) {
    throw invalid(field, `has ${keys.length} entries, at most ${METADATA_MAX_ENTRIES}`);
  }
  for (const key of keys) {
    if (key.length === 0) throw invalid(field, 'has an empty key');
    if (exceeds(key, METADATA_KEY_MAX_LENGTH)) {
      throw invalid(
        field,
        `key ${quote(key)} is too long (${codePoints(key)} chars, at most ${METADATA_KEY_MAX_LENGTH})`,
      );
    }
    const value: unknown = meta[key];
    if (typeof value !== 'string') throw invalid(field, `value of ${quote(key)} must be a string`);
    if (exceeds(value, METADATA_VALUE_MAX_LENGTH)) {
      throw invalid(
        field,
        `value of ${quote(key)} is too long (${codePoints(value)} chars, at most ${METADATA_VALUE_MAX_LENGTH})`,
      );
    }
  }
}

/** Free text (freeze/close/release reasons, order ids), at most 256 chars; empty is fine. */
export function validateReason(text: string, field = 'reason'): void {
  assertString(text, field);
  if (exceeds(text, REASON_MAX_LENGTH)) {
    throw invalid(field, `is too long (${codePoints(text)} chars, at most ${REASON_MAX_LENGTH})`);
  }
}

/** Reservation ttl: an integer 0..31_536_000 seconds (0 = no expiry, max one year). */
export function validateTtlSeconds(ttl: number): void {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > TTL_MAX_SECONDS) {
    throw invalid(
      'ttl_seconds',
      `${String(ttl)} must be an integer 0..${TTL_MAX_SECONDS} (0 = no expiry, max one year)`,
    );
  }
}
