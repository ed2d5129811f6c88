import { LedgerError } from './errors';
import { MAX_MINOR, formatMinor, parseAmount, parseNonNegativeAmount } from './money';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof LedgerError) return e.reason;
    throw e;
  }
  throw new Error('expected a LedgerError, nothing was thrown');
}

describe('MAX_MINOR', () => {
  it('is 2^53 - 1, the largest integer a double holds exactly', () => {
    expect(MAX_MINOR).toBe(2n ** 53n - 1n);
    expect(MAX_MINOR).toBe(BigInt(Number.MAX_SAFE_INTEGER));
  });
});

describe('parseAmount', () => {
  it.each<[string, number, bigint]>([
    ['1', 2, 100n],
    ['1.5', 2, 150n],
    ['1.50', 2, 150n],
    ['0.01', 2, 1n],
    ['0.1', 2, 10n],
    ['1234.5', 2, 123450n],
    ['007', 2, 700n],
    ['00.50', 2, 50n],
    ['90071992547409.91', 2, MAX_MINOR],
    ['150', 0, 150n],
    ['9007199254740991', 0, MAX_MINOR],
    ['007', 0, 7n],
    ['1', 8, 100_000_000n],
    ['0.00000001', 8, 1n],
    ['1.23456789', 8, 123_456_789n],
    ['90071992.54740991', 8, MAX_MINOR],
    ['0.001', 3, 1n],
    ['1.2345', 4, 12345n],
    ['0.000000000000000001', 18, 1n],
    ['9.007199254740991', 15, MAX_MINOR],
  ])('parses %j at scale %i to %s minor units', (text, scale, minor) => {
    expect(parseAmount(text, scale)).toBe(minor);
  });

  it.each<[string, number]>([
    ['', 2],
    ['0', 2],
    ['0.00', 2],
    ['0.0', 2],
    ['000', 0],
    ['-1', 2],
    ['+1', 2],
    ['1e3', 2],
    ['1E3', 2],
    [' 1', 2],
    ['1 ', 2],
    ['\t1', 2],
    ['1\n', 2],
    ['1.', 2],
    ['.5', 2],
    ['1,000', 2],
    ['1_000', 2],
    ['1,5', 2],
    ['１', 2],
    ['١', 2],
    ['NaN', 2],
    ['Infinity', 2],
    ['-Infinity', 2],
    ['0x10', 2],
    ['1.2.3', 2],
    ['1..2', 2],
    ['abc', 2],
    ['1.005', 2],
    ['1.500', 2],
    ['1.0', 0],
    ['1.', 0],
    ['1.5', 0],
    ['0.000000001', 8],
    ['1'.repeat(41), 2],
    ['0'.repeat(40) + '1', 2],
    ['9'.repeat(10_000), 2],
  ])('rejects %j at scale %i as INVALID_AMOUNT', (text, scale) => {
    expect(reasonOf(() => parseAmount(text, scale))).toBe('INVALID_AMOUNT');
  });

  it.each<[string, number]>([
    ['90071992547409.92', 2],
    ['90071992547410', 2],
    ['9007199254740992', 0],
    ['90071992.54740992', 8],
    ['9'.repeat(40), 0],
    ['9'.repeat(38) + '.9', 1],
  ])('rejects %j at scale %i as AMOUNT_OUT_OF_RANGE', (text, scale) => {
    expect(reasonOf(() => parseAmount(text, scale))).toBe('AMOUNT_OUT_OF_RANGE');
  });

  it('names the text and the cause in the error detail', () => {
    expect(() => parseAmount('1.005', 2)).toThrow(/INVALID_AMOUNT: amount "1.005" has 3 decimals.*at most 2/);
    expect(() => parseAmount('0.00', 2)).toThrow(/INVALID_AMOUNT: amount "0.00" is zero/);
    expect(() => parseAmount('1e3', 2)).toThrow(/INVALID_AMOUNT: amount "1e3" is not a plain decimal/);
    expect(() => parseAmount('1.0', 0)).toThrow(/scale 0/);
    expect(() => parseAmount('90071992547409.92', 2)).toThrow(
      /AMOUNT_OUT_OF_RANGE: amount "90071992547409.92" exceeds the maximum 90071992547409.91/,
    );
  });

  it('does not echo a huge input in full', () => {
    let message = '';
    try {
      parseAmount('7'.repeat(100_000), 2);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/too long/);
    expect(message.length).toBeLessThan(200);
  });

  it.each([-1, 19, 1.5, Number.NaN])('throws a plain Error for an invalid scale %p', (scale) => {
    expect(() => parseAmount('1', scale)).toThrow(/invalid currency scale/);
    expect(() => parseAmount('1', scale)).not.toThrow(LedgerError);
  });
});

describe('parseNonNegativeAmount', () => {
  it.each<[string, number, bigint]>([
    ['', 2, 0n],
    ['0', 2, 0n],
    ['0.00', 2, 0n],
    ['0', 0, 0n],
    ['', 0, 0n],
    ['100', 2, 10000n],
    ['0.05', 2, 5n],
    ['90071992547409.91', 2, MAX_MINOR],
  ])('parses %j at scale %i to %s', (text, scale, minor) => {
    expect(parseNonNegativeAmount(text, scale)).toBe(minor);
  });

  it.each<[string, number, string]>([
    ['-1', 2, 'INVALID_AMOUNT'],
    [' ', 2, 'INVALID_AMOUNT'],
    ['0.001', 2, 'INVALID_AMOUNT'],
    ['0.0', 0, 'INVALID_AMOUNT'],
    ['NaN', 2, 'INVALID_AMOUNT'],
    ['１', 2, 'INVALID_AMOUNT'],
    ['1'.repeat(41), 0, 'INVALID_AMOUNT'],
    ['90071992547409.92', 2, 'AMOUNT_OUT_OF_RANGE'],
  ])('rejects %j at scale %i as %s', (text, scale, reason) => {
    expect(reasonOf(() => parseNonNegativeAmount(text, scale))).toBe(reason);
  });
});

describe('formatMinor', () => {
  it.each<[bigint, number, string]>([
    [150n, 2, '1.50'],
    [-5n, 2, '-0.05'],
    [0n, 2, '0.00'],
    [1n, 2, '0.01'],
    [-100n, 2, '-1.00'],
    [-150n, 2, '-1.50'],
    [123456n, 2, '1234.56'],
    [150n, 0, '150'],
    [-150n, 0, '-150'],
    [0n, 0, '0'],
    [1n, 8, '0.00000001'],
    [100_000_000n, 8, '1.00000000'],
    [1n, 3, '0.001'],
    [MAX_MINOR, 2, '90071992547409.91'],
    [-MAX_MINOR, 2, '-90071992547409.91'],
    [MAX_MINOR, 0, '9007199254740991'],
    [1n, 18, '0.000000000000000001'],
  ])('formats %s at scale %i as %j', (minor, scale, text) => {
    expect(formatMinor(minor, scale)).toBe(text);
  });

  it('throws for an invalid scale', () => {
    expect(() => formatMinor(1n, -1)).toThrow(/invalid currency scale/);
  });
});

describe('round trip', () => {
  it.each<[string, number, string]>([
    ['1', 2, '1.00'],
    ['1.5', 2, '1.50'],
    ['0.01', 2, '0.01'],
    ['007', 2, '7.00'],
    ['90071992547409.91', 2, '90071992547409.91'],
    ['150', 0, '150'],
    ['0.00000001', 8, '0.00000001'],
    ['12.3', 8, '12.30000000'],
    ['1.234', 3, '1.234'],
  ])('format(parse(%j, %i)) is %j and parses back to the same minor units', (text, scale, formatted) => {
    const minor = parseAmount(text, scale);
    expect(formatMinor(minor, scale)).toBe(formatted);
    expect(parseAmount(formatted, scale)).toBe(minor);
  });

  it('format then parse is the identity over a sweep of values and scales', () => {
    const values = [1n, 9n, 10n, 99n, 100n, 101n, 12345n, 10n ** 12n + 7n, MAX_MINOR - 1n, MAX_MINOR];
    for (const scale of [0, 1, 2, 3, 4, 6, 8, 15]) {
      for (const v of values) {
        expect(parseAmount(formatMinor(v, scale), scale)).toBe(v);
        expect(parseNonNegativeAmount(formatMinor(v, scale), scale)).toBe(v);
      }
      expect(parseNonNegativeAmount(formatMinor(0n, scale), scale)).toBe(0n);
    }
  });
});
