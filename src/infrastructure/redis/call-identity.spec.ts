import fc from 'fast-check';
import { canonicalJson, parameterHash, type ParameterValue } from './call-identity';

/** The definition the stored digests were made with: JSON.stringify with a key-sorting replacer. */
function reference(kind: string, params: Record<string, ParameterValue>): string {
  return JSON.stringify([kind, params], (_, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return value;
  });
}

describe('parameterHash', () => {
  it('keeps the digests of known calls (they are stored in Redis and Postgres forever)', () => {
    expect(
      parameterHash('reserve', { account: 'acct-1', currency: 'USD', amount: 12345n, order: 'o-1', ttl: 30 }),
    ).toBe('a7f191d8b1c5097ed665835e44fb9221');
    expect(parameterHash('commit', { currency: 'JPY', amount: -5n, final: true })).toBe(
      '8ab0d48c647ceda90b844aad367877f7',
    );
    expect(parameterHash('deposit', { account: 'a"\\ü', currency: 'USD', amount: 1n, meta: '{"k":"v"}' })).toBe(
      '5a0661eae2b31dbe1365fefd632a4e51',
    );
  });

  it('does not depend on the order the parameters are given in, and tells values apart', () => {
    expect(parameterHash('x', { a: 1n, b: 'q' })).toBe(parameterHash('x', { b: 'q', a: 1n }));
    expect(parameterHash('x', { a: 1n })).not.toBe(parameterHash('x', { a: 2n }));
    expect(parameterHash('x', { a: 1 })).not.toBe(parameterHash('x', { a: '1' }));
  });

  it('builds exactly the JSON of the reference definition, for any flat parameters', () => {
    const name = fc.stringMatching(/^[a-z_][a-zA-Z0-9_]{0,11}$/);
    const value = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.bigInt(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
    ) as fc.Arbitrary<ParameterValue>;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.dictionary(name, value), (kind, params) => {
        expect(canonicalJson(kind, params)).toBe(reference(kind, params));
      }),
      { numRuns: 2000 },
    );
  });
});
