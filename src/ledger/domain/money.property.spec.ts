import fc from 'fast-check';
import { LedgerError } from './errors';
import { formatMinor, MAX_AMOUNT_TEXT_LENGTH, MAX_MINOR, MAX_SCALE, parseAmount } from './money';

/**
 * Properties of money parsing over generated inputs (fast-check; a failure prints its seed and
 * the shrunk counterexample). The example-based cases are in money.spec.ts.
 */
const scale = fc.integer({ min: 0, max: MAX_SCALE });
const minor = fc.bigInt({ min: 1n, max: MAX_MINOR });

function reasonOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof LedgerError) return error.reason;
    throw error;
  }
}

describe('money parsing (properties)', () => {
  it('every amount in range reads back exactly from its formatted text, at every scale', () => {
    fc.assert(
      fc.property(minor, scale, (m, s) => {
        expect(parseAmount(formatMinor(m, s), s)).toBe(m);
      }),
    );
  });

  it('leading zeros and dropped trailing decimal zeros do not change the amount', () => {
    fc.assert(
      fc.property(minor, scale, fc.integer({ min: 0, max: 3 }), (m, s, zeros) => {
        const text = formatMinor(m, s);
        const trimmed = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
        const padded = '0'.repeat(zeros) + trimmed;
        fc.pre(padded.length <= MAX_AMOUNT_TEXT_LENGTH);
        expect(parseAmount(padded, s)).toBe(m);
      }),
    );
  });

  it('one decimal more than the scale allows is refused, never rounded', () => {
    fc.assert(
      fc.property(minor, fc.integer({ min: 0, max: MAX_SCALE - 1 }), fc.integer({ min: 1, max: 9 }), (m, s, digit) => {
        const text = formatMinor(m, s);
        const longer = `${text}${s === 0 ? '.' : ''}${digit}`;
        expect(reasonOf(() => parseAmount(longer, s))).toBe('INVALID_AMOUNT');
      }),
    );
  });

  it('past the range by any amount is AMOUNT_OUT_OF_RANGE, at the boundary it is accepted', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: MAX_MINOR + 1n, max: MAX_MINOR * 1000n }), scale, (m, s) => {
        expect(reasonOf(() => parseAmount(formatMinor(m, s), s))).toBe('AMOUNT_OUT_OF_RANGE');
        expect(parseAmount(formatMinor(MAX_MINOR, s), s)).toBe(MAX_MINOR);
      }),
    );
  });

  it('any text at all either parses to an amount in range or is refused with a reason (never another error)', () => {
    const texts = fc.oneof(
      fc.string({ maxLength: 50 }),
      fc.stringMatching(/^[0-9]{0,20}(\.[0-9]{0,20})?$/),
      fc.stringMatching(/^[-+ ]?[0-9.,eE_ ]{1,25}$/),
    );
    fc.assert(
      fc.property(texts, scale, (text, s) => {
        let parsed: bigint | undefined;
        const reason = reasonOf(() => {
          parsed = parseAmount(text, s);
        });
        if (reason === undefined) {
          expect(text).toMatch(/^[0-9]+(\.[0-9]+)?$/);
          expect(parsed! >= 1n && parsed! <= MAX_MINOR).toBe(true);
          // What was read is what the text says: formatting it gives the text back, up to zeros.
          expect(parseAmount(formatMinor(parsed!, s), s)).toBe(parsed);
        } else {
          expect(['INVALID_AMOUNT', 'AMOUNT_OUT_OF_RANGE']).toContain(reason);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
