import { CURRENCY_CODE_PATTERN, CurrencyRegistry, ISO_4217_SCALES, parseExtraAssets } from './currency';
import { LedgerError } from './errors';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof LedgerError) return e.reason;
    throw e;
  }
  throw new Error('expected a LedgerError, nothing was thrown');
}

describe('ISO_4217_SCALES', () => {
  it('holds the full active list with valid codes and scales', () => {
    expect(ISO_4217_SCALES.size).toBeGreaterThanOrEqual(150);
    for (const [code, scale] of ISO_4217_SCALES) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3, 4]).toContain(scale);
    }
  });

  it('covers every ISO code the runtime (ICU) knows, except withdrawn and N.A. ones', () => {
    const excluded = new Set(['HRK', 'XDR', 'XSU', 'XAU', 'XAG', 'XPD', 'XPT', 'XUA', 'XTS', 'XXX']);
    const missing = Intl.supportedValuesOf('currency').filter(
      (c) => !excluded.has(c) && !ISO_4217_SCALES.has(c) && /^[A-Z]{3}$/.test(c),
    );
    expect(missing).toEqual([]);
  });

  it.each(['XAU', 'XAG', 'XDR', 'XTS', 'XXX', 'HRK', 'MRO', 'VEF', 'BYR'])('does not build in %s', (code) => {
    expect(ISO_4217_SCALES.has(code)).toBe(false);
  });
});

describe('CurrencyRegistry', () => {
  const registry = new CurrencyRegistry();

  it.each<[string, number]>([
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['KRW', 0],
    ['JPY', 0],
    ['VND', 0],
    ['CLP', 0],
    ['ISK', 0],
    ['XOF', 0],
    ['BHD', 3],
    ['KWD', 3],
    ['JOD', 3],
    ['OMR', 3],
    ['TND', 3],
    ['IQD', 3],
    ['LYD', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['UYI', 0],
    ['IDR', 2],
    ['HUF', 2],
    ['XCG', 2],
    ['ZWG', 2],
    ['SLE', 2],
  ])('scaleOf(%s) is %i', (code, scale) => {
    expect(registry.has(code)).toBe(true);
    expect(registry.scaleOf(code)).toBe(scale);
  });

  it.each([
    'usd',
    'Usd',
    'BTC',
    'ABC',
    'XAU',
    '',
    'U',
    'US D',
    ' USD',
    'USD ',
    'USDT',
    '1USD',
    'A'.repeat(13),
    'ＵＳＤ',
  ])('rejects %j as UNKNOWN_CURRENCY', (code) => {
    expect(registry.has(code)).toBe(false);
    expect(reasonOf(() => registry.scaleOf(code))).toBe('UNKNOWN_CURRENCY');
  });

  it('explains lower case and unknown codes', () => {
    expect(() => registry.scaleOf('usd')).toThrow(/UNKNOWN_CURRENCY: currency "usd" is not a valid code.*upper case/);
    expect(() => registry.scaleOf('BTC')).toThrow(
      /UNKNOWN_CURRENCY: currency "BTC" is neither ISO 4217 nor a configured asset/,
    );
  });

  it('adds configured extra assets', () => {
    const r = new CurrencyRegistry(
      new Map([
        ['BTC', 8],
        ['ETH', 18],
        ['USDT', 6],
        ['POINTS', 0],
        ['A1B2C3D4E5F6', 2],
      ]),
    );
    expect(r.scaleOf('BTC')).toBe(8);
    expect(r.scaleOf('ETH')).toBe(18);
    expect(r.scaleOf('USDT')).toBe(6);
    expect(r.scaleOf('POINTS')).toBe(0);
    expect(r.scaleOf('A1B2C3D4E5F6')).toBe(2);
    expect(r.scaleOf('USD')).toBe(2);
    expect(r.has('btc')).toBe(false);
    expect(r.codes()).toContain('BTC');
    expect(r.codes().length).toBe(ISO_4217_SCALES.size + 5);
  });

  it('does not share extra assets between instances', () => {
    new CurrencyRegistry(new Map([['BTC', 8]]));
    expect(new CurrencyRegistry().has('BTC')).toBe(false);
  });

  it.each<[string, ReadonlyMap<string, number>, RegExp]>([
    ['scale above 18', new Map([['ETH', 19]]), /scale 19/],
    ['negative scale', new Map([['ETH', -1]]), /scale -1/],
    ['fractional scale', new Map([['ETH', 1.5]]), /scale 1.5/],
    ['lower-case code', new Map([['btc', 8]]), /asset code "btc"/],
    ['one-letter code', new Map([['B', 8]]), /asset code "B"/],
    ['ISO code with another scale', new Map([['USD', 4]]), /USD is the ISO 4217 currency with scale 2/],
  ])('constructor rejects %s with a plain Error', (_name, extra, message) => {
    expect(() => new CurrencyRegistry(extra)).toThrow(message);
    expect(() => new CurrencyRegistry(extra)).not.toThrow(LedgerError);
  });

  it('accepts an ISO code repeated with its own scale', () => {
    expect(new CurrencyRegistry(new Map([['USD', 2]])).scaleOf('USD')).toBe(2);
  });
});

describe('parseExtraAssets', () => {
  it.each<[string, Array<[string, number]>]>([
    ['', []],
    ['   ', []],
    ['BTC:8', [['BTC', 8]]],
    [
      'BTC:8,USDT:6',
      [
        ['BTC', 8],
        ['USDT', 6],
      ],
    ],
    [
      ' BTC : 8 , ETH:18 ',
      [
        ['BTC', 8],
        ['ETH', 18],
      ],
    ],
    ['PTS:0', [['PTS', 0]]],
    ['A1B2C3D4E5F6:08', [['A1B2C3D4E5F6', 8]]],
  ])('parses %j', (spec, expected) => {
    expect([...parseExtraAssets(spec)]).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['BTC', /entry 1 \("BTC"\) is not CODE:SCALE/],
    ['BTC:8,', /empty entry 2/],
    [',BTC:8', /empty entry 1/],
    ['BTC:8,,ETH:18', /empty entry 2/],
    ['BTC:', /scale "" must be an integer 0..18/],
    [':8', /code "" must be/],
    ['btc:8', /code "btc" must be/],
    ['B:8', /code "B" must be/],
    ['1BTC:8', /code "1BTC" must be/],
    ['ABCDEFGHIJKLM:2', /code "ABCDEFGHIJKLM" must be/],
    ['BTC:19', /scale "19" must be an integer 0..18/],
    ['BTC:-1', /scale "-1"/],
    ['BTC:1.5', /scale "1.5"/],
    ['BTC:8e0', /scale "8e0"/],
    ['BTC:100', /scale "100"/],
    ['BTC:8:9', /not CODE:SCALE/],
    ['BTC:8,BTC:8', /entry 2 .*BTC is listed twice/],
    ['USD:2', /USD is a built-in ISO 4217 currency/],
    ['BTC;8', /not CODE:SCALE/],
  ])('rejects %j with a plain Error', (spec, message) => {
    expect(() => parseExtraAssets(spec)).toThrow(message);
    expect(() => parseExtraAssets(spec)).not.toThrow(LedgerError);
  });

  it('feeds the registry', () => {
    const r = new CurrencyRegistry(parseExtraAssets('BTC:8,USDT:6'));
    expect(r.scaleOf('BTC')).toBe(8);
    expect(r.scaleOf('USDT')).toBe(6);
  });

  it('code pattern is the documented one', () => {
    expect(CURRENCY_CODE_PATTERN.source).toBe('^[A-Z][A-Z0-9]{1,11}$');
  });
});
