import { LedgerError } from './errors';
import {
  validateAccountId,
  validateMetadata,
  validateReason,
  validateRequestId,
  validateTtlSeconds,
} from './validation';

function errorOf(fn: () => unknown): LedgerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LedgerError) return e;
    throw e;
  }
  throw new Error('expected a LedgerError, nothing was thrown');
}

describe('validateAccountId', () => {
  it.each(['a', 'acct-1', 'A.b_c:d-9', 'user:42:cash', 'x'.repeat(64), '0', '...', '-:_'])('accepts %j', (id) => {
    expect(() => validateAccountId(id)).not.toThrow();
  });

  it.each([
    '',
    'x'.repeat(65),
    'has space',
    ' lead',
    'trail ',
    'slash/id',
    'tab\tid',
    'new\nline',
    'émile',
    '계좌',
    'a+b',
    'a@b',
    'a,b',
    '{b17}',
    'a\u0000b',
  ])('rejects %j as INVALID_ARGUMENT naming the field', (id) => {
    const e = errorOf(() => validateAccountId(id));
    expect(e.reason).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^INVALID_ARGUMENT: account_id /);
  });

  it('names a custom field', () => {
    expect(() => validateAccountId('bad id', 'to_account_id')).toThrow(/^INVALID_ARGUMENT: to_account_id "bad id"/);
  });

  it('rejects a non-string at runtime', () => {
    expect(errorOf(() => validateAccountId(undefined as unknown as string)).message).toMatch(/must be a string/);
  });
});

describe('validateRequestId', () => {
  it.each(['t', 'tx-1', 'order/123#fill=4', '!~', 'x'.repeat(128), '{"a":1}', '550e8400-e29b-41d4-a716-446655440000'])(
    'accepts %j',
    (id) => {
      expect(() => validateRequestId(id, 'transaction_id')).not.toThrow();
    },
  );

  it.each(['', 'x'.repeat(129), 'a b', ' a', 'a\t', 'a\nb', 'a\u007f', 'a\u0000', 'é', '한', 'ｔｘ'])(
    'rejects %j as INVALID_ARGUMENT naming the field',
    (id) => {
      const e = errorOf(() => validateRequestId(id, 'reservation_id'));
      expect(e.reason).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(/^INVALID_ARGUMENT: reservation_id /);
    },
  );

  it('does not echo a huge id in full', () => {
    expect(errorOf(() => validateRequestId('x'.repeat(100_000), 'commit_id')).message.length).toBeLessThan(200);
  });
});

describe('validateMetadata', () => {
  const entries = (n: number): Record<string, string> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]));

  it.each<[string, Record<string, string>]>([
    ['empty', {}],
    ['16 entries', entries(16)],
    ['64-char key', { ['k'.repeat(64)]: 'v' }],
    ['256-char value', { k: 'v'.repeat(256) }],
    ['empty value', { k: '' }],
    ['256 non-BMP chars (512 UTF-16 units)', { k: '😀'.repeat(256) }],
    ['64 Korean chars in a key', { ['한'.repeat(64)]: 'v' }],
  ])('accepts %s', (_name, meta) => {
    expect(() => validateMetadata(meta)).not.toThrow();
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['17 entries', entries(17), /has 17 entries, at most 16/],
    ['empty key', { '': 'v' }, /empty key/],
    ['65-char key', { ['k'.repeat(65)]: 'v' }, /key "k{65}" is too long \(65 chars, at most 64\)/],
    ['257-char value', { k: 'v'.repeat(257) }, /value of "k" is too long \(257 chars, at most 256\)/],
    ['257 non-BMP chars', { k: '😀'.repeat(257) }, /too long \(257 chars/],
    ['non-string value', { k: 5 as unknown as string }, /value of "k" must be a string/],
    ['array', [] as unknown as Record<string, string>, /must be a map/],
    ['null', null as unknown as Record<string, string>, /must be a map/],
  ])('rejects %s', (_name, meta, message) => {
    const e = errorOf(() => validateMetadata(meta));
    expect(e.reason).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^INVALID_ARGUMENT: metadata /);
    expect(e.message).toMatch(message);
  });

  it('names a custom field', () => {
    expect(() => validateMetadata(entries(17), 'open.metadata')).toThrow(/^INVALID_ARGUMENT: open\.metadata has 17/);
  });
});

describe('validateReason', () => {
  it.each(['', 'fraud check', 'r'.repeat(256), '사유'.repeat(128)])('accepts %j', (text) => {
    expect(() => validateReason(text)).not.toThrow();
  });

  it.each<[string, string]>([
    ['257 ASCII chars', 'r'.repeat(257)],
    ['257 Korean chars', '사'.repeat(257)],
    ['a million chars', 'x'.repeat(1_000_000)],
  ])('rejects %s as too long', (_name, text) => {
    const e = errorOf(() => validateReason(text));
    expect(e.reason).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^INVALID_ARGUMENT: reason is too long/);
  });
});

describe('validateTtlSeconds', () => {
  it.each([0, 1, 60, 86_400, 31_536_000])('accepts %p', (ttl) => {
    expect(() => validateTtlSeconds(ttl)).not.toThrow();
  });

  it.each([-1, 31_536_001, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5, 2 ** 53])('rejects %p', (ttl) => {
    const e = errorOf(() => validateTtlSeconds(ttl));
    expect(e.reason).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^INVALID_ARGUMENT: ttl_seconds .* must be an integer 0\.\.31536000/);
  });
});
