import { parameterHash } from './call-identity';

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
});
