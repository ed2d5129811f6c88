/**
 * Exact money: decimal strings on the wire, bigint minor units inside. No floats anywhere.
 *
 * Redis Lua numbers are IEEE doubles, so every amount, balance and hold is kept within
 * +-MAX_MINOR (2^53 - 1) minor units, the range a double represents exactly.
 */
import { LedgerError } from './errors';

/** 2^53 - 1: the largest magnitude of any amount, balance or hold, in minor units. */
export const MAX_MINOR = 9007199254740991n;

/** The largest scale a currency or asset may have (ETH-style 18 decimals). */
export const MAX_SCALE = 18;

/** Longer inputs are rejected before any BigInt work, so huge strings cost nothing. */
export const MAX_AMOUNT_TEXT_LENGTH = 40;

/** ASCII digits only ([0-9] in a JS regex never matches other scripts' digits). */
const AMOUNT_SYNTAX = /^([0-9]+)(?:\.([0-9]+))?$/;

function assertScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) {
    // A programming/config error, not caller input.
    throw new Error(`invalid currency scale ${String(scale)} (must be an integer 0..${MAX_SCALE})`);
  }
}

/** Quotes the caller's text for an error detail, truncated so a huge input never ends up in logs. */
function quote(text: string): string {
  const shown = text.length > MAX_AMOUNT_TEXT_LENGTH ? `${text.slice(0, MAX_AMOUNT_TEXT_LENGTH)}...` : text;
  return JSON.stringify(shown);
}

/** Parses the syntax and scale; returns the minor units (may be 0n, may exceed MAX_MINOR). */
function parseDecimal(text: string, scale: number): bigint {
  assertScale(scale);
  if (typeof text !== 'string') {
    throw new LedgerError('INVALID_AMOUNT', `amount must be a decimal string, got ${typeof text}`);
  }
  if (text.length > MAX_AMOUNT_TEXT_LENGTH) {
    throw new LedgerError(
      'INVALID_AMOUNT',
      `amount ${quote(text)} is too long (${text.length} chars, at most ${MAX_AMOUNT_TEXT_LENGTH})`,
    );
  }
  const m = AMOUNT_SYNTAX.exec(text);
  if (m === null) {
    throw new LedgerError(
      'INVALID_AMOUNT',
      `amount ${quote(text)} is not a plain decimal (ASCII digits with an optional "." and fraction digits; ` +
        'no sign, exponent, spaces or separators)',
    );
  }
  const whole = m[1] as string;
  const fraction = m[2] ?? '';
  if (scale === 0 && m[2] !== undefined) {
    throw new LedgerError('INVALID_AMOUNT', `amount ${quote(text)} has decimals but the currency has none (scale 0)`);
  }
  if (fraction.length > scale) {
    throw new LedgerError(
      'INVALID_AMOUNT',
      `amount ${quote(text)} has ${fraction.length} decimals, the currency allows at most ${scale}`,
    );
  }
  return BigInt(whole + fraction.padEnd(scale, '0'));
}

function checkRange(text: string, minor: bigint, scale: number): void {
  if (minor > MAX_MINOR) {
    throw new LedgerError(
      'AMOUNT_OUT_OF_RANGE',
      `amount ${quote(text)} exceeds the maximum ${formatMinor(MAX_MINOR, scale)} (2^53-1 minor units)`,
    );
  }
}

/**
 * Parses a strictly positive decimal string into minor units of a currency with `scale` decimals.
 *
 * Accepted: `^[0-9]+(\.[0-9]+)?$` in ASCII, at most `scale` decimals (none at all for scale 0).
 * Leading zeros are accepted ("007" is 7, "00.50" is 0.50); trailing zeros count as decimals
 * ("1.500" is rejected for scale 2).
 * Throws LedgerError INVALID_AMOUNT for bad syntax, too many decimals or zero, and
 * AMOUNT_OUT_OF_RANGE for more than MAX_MINOR minor units.
 */
export function parseAmount(text: string, scale: number): bigint {
  const minor = parseDecimal(text, scale);
  if (minor === 0n) {
    throw new LedgerError('INVALID_AMOUNT', `amount ${quote(text)} is zero; it must be greater than zero`);
  }
  checkRange(text, minor, scale);
  return minor;
}

/**
 * Like parseAmount, but zero is allowed and "" means 0n (optional fields such as overdraft_limit,
 * default "0").
 */
export function parseNonNegativeAmount(text: string, scale: number): bigint {
  assertScale(scale);
  if (text === '') return 0n;
  const minor = parseDecimal(text, scale);
  checkRange(text, minor, scale);
  return minor;
}

/**
 * Formats minor units as an exact decimal string with exactly `scale` decimals:
 * (150n, 2) -> "1.50", (-5n, 2) -> "-0.05", (0n, 2) -> "0.00", (150n, 0) -> "150".
 */
export function formatMinor(minor: bigint, scale: number): string {
  assertScale(scale);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString();
  const sign = negative ? '-' : '';
  if (scale === 0) return sign + digits;
  const padded = digits.padStart(scale + 1, '0');
  const cut = padded.length - scale;
  return `${sign}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}
