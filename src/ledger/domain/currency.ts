/**
 * Currencies and assets with their minor-unit scales: the ISO 4217 list built in, plus extra
 * assets (crypto, tokens) from configuration.
 */
import { LedgerError } from './errors';
import { MAX_SCALE } from './money';

/** Currency / asset code syntax: upper case, letters and digits, 2-12 chars. */
export const CURRENCY_CODE_PATTERN = /^[A-Z][A-Z0-9]{1,11}$/;

/**
 * Active ISO 4217 codes (list one) and their minor units.
 *
 * Codes whose minor unit is "N.A." in ISO 4217 are not built in, since no account can hold
 * them meaningfully: precious metals (XAU, XAG, XPD, XPT), bond-market units (XBA, XBB, XBC,
 * XBD), XDR, XSU, XUA, and the test/no-currency codes XTS and XXX.
 * Codes still listed during a replacement period are kept beside their successors
 * (ANG/XCG, SLL/SLE, ZWL/ZWG, VES/VED, CUC/CUP); withdrawn codes (HRK, MRO, STD, VEF, BYR, ...)
 * are not.
 */
export const ISO_4217_SCALES: ReadonlyMap<string, number> = new Map<string, number>([
  ['AED', 2], // UAE dirham
  ['AFN', 2], // Afghani
  ['ALL', 2], // Lek
  ['AMD', 2], // Armenian dram
  ['ANG', 2], // Netherlands Antillean guilder (being replaced by XCG)
  ['AOA', 2], // Kwanza
  ['ARS', 2], // Argentine peso
  ['AUD', 2], // Australian dollar
  ['AWG', 2], // Aruban florin
  ['AZN', 2], // Azerbaijan manat
  ['BAM', 2], // Convertible mark
  ['BBD', 2], // Barbados dollar
  ['BDT', 2], // Taka
  ['BGN', 2], // Bulgarian lev
  ['BHD', 3], // Bahraini dinar
  ['BIF', 0], // Burundi franc
  ['BMD', 2], // Bermudian dollar
  ['BND', 2], // Brunei dollar
  ['BOB', 2], // Boliviano
  ['BOV', 2], // Mvdol
  ['BRL', 2], // Brazilian real
  ['BSD', 2], // Bahamian dollar
  ['BTN', 2], // Ngultrum
  ['BWP', 2], // Pula
  ['BYN', 2], // Belarusian ruble
  ['BZD', 2], // Belize dollar
  ['CAD', 2], // Canadian dollar
  ['CDF', 2], // Congolese franc
  ['CHE', 2], // WIR euro
  ['CHF', 2], // Swiss franc
  ['CHW', 2], // WIR franc
  ['CLF', 4], // Unidad de Fomento
  ['CLP', 0], // Chilean peso
  ['CNY', 2], // Yuan renminbi
  ['COP', 2], // Colombian peso
  ['COU', 2], // Unidad de Valor Real
  ['CRC', 2], // Costa Rican colon
  ['CUC', 2], // Peso convertible
  ['CUP', 2], // Cuban peso
  ['CVE', 2], // Cabo Verde escudo
  ['CZK', 2], // Czech koruna
  ['DJF', 0], // Djibouti franc
  ['DKK', 2], // Danish krone
  ['DOP', 2], // Dominican peso
  ['DZD', 2], // Algerian dinar
  ['EGP', 2], // Egyptian pound
  ['ERN', 2], // Nakfa
  ['ETB', 2], // Ethiopian birr
  ['EUR', 2], // Euro
  ['FJD', 2], // Fiji dollar
  ['FKP', 2], // Falkland Islands pound
  ['GBP', 2], // Pound sterling
  ['GEL', 2], // Lari
  ['GHS', 2], // Ghana cedi
  ['GIP', 2], // Gibraltar pound
  ['GMD', 2], // Dalasi
  ['GNF', 0], // Guinean franc
  ['GTQ', 2], // Quetzal
  ['GYD', 2], // Guyana dollar
  ['HKD', 2], // Hong Kong dollar
  ['HNL', 2], // Lempira
  ['HTG', 2], // Gourde
  ['HUF', 2], // Forint
  ['IDR', 2], // Rupiah
  ['ILS', 2], // New Israeli sheqel
  ['INR', 2], // Indian rupee
  ['IQD', 3], // Iraqi dinar
  ['IRR', 2], // Iranian rial
  ['ISK', 0], // Iceland krona
  ['JMD', 2], // Jamaican dollar
  ['JOD', 3], // Jordanian dinar
  ['JPY', 0], // Yen
  ['KES', 2], // Kenyan shilling
  ['KGS', 2], // Som
  ['KHR', 2], // Riel
  ['KMF', 0], // Comorian franc
  ['KPW', 2], // North Korean won
  ['KRW', 0], // Won
  ['KWD', 3], // Kuwaiti dinar
  ['KYD', 2], // Cayman Islands dollar
  ['KZT', 2], // Tenge
  ['LAK', 2], // Lao kip
  ['LBP', 2], // Lebanese pound
  ['LKR', 2], // Sri Lanka rupee
  ['LRD', 2], // Liberian dollar
  ['LSL', 2], // Loti
  ['LYD', 3], // Libyan dinar
  ['MAD', 2], // Moroccan dirham
  ['MDL', 2], // Moldovan leu
  ['MGA', 2], // Malagasy ariary
  ['MKD', 2], // Denar
  ['MMK', 2], // Kyat
  ['MNT', 2], // Tugrik
  ['MOP', 2], // Pataca
  ['MRU', 2], // Ouguiya
  ['MUR', 2], // Mauritius rupee
  ['MVR', 2], // Rufiyaa
  ['MWK', 2], // Malawi kwacha
  ['MXN', 2], // Mexican peso
  ['MXV', 2], // Mexican Unidad de Inversion
  ['MYR', 2], // Malaysian ringgit
  ['MZN', 2], // Mozambique metical
  ['NAD', 2], // Namibia dollar
  ['NGN', 2], // Naira
  ['NIO', 2], // Cordoba oro
  ['NOK', 2], // Norwegian krone
  ['NPR', 2], // Nepalese rupee
  ['NZD', 2], // New Zealand dollar
  ['OMR', 3], // Rial Omani
  ['PAB', 2], // Balboa
  ['PEN', 2], // Sol
  ['PGK', 2], // Kina
  ['PHP', 2], // Philippine peso
  ['PKR', 2], // Pakistan rupee
  ['PLN', 2], // Zloty
  ['PYG', 0], // Guarani
  ['QAR', 2], // Qatari rial
  ['RON', 2], // Romanian leu
  ['RSD', 2], // Serbian dinar
  ['RUB', 2], // Russian ruble
  ['RWF', 0], // Rwanda franc
  ['SAR', 2], // Saudi riyal
  ['SBD', 2], // Solomon Islands dollar
  ['SCR', 2], // Seychelles rupee
  ['SDG', 2], // Sudanese pound
  ['SEK', 2], // Swedish krona
  ['SGD', 2], // Singapore dollar
  ['SHP', 2], // Saint Helena pound
  ['SLE', 2], // Leone
  ['SLL', 2], // Leone (old, being replaced by SLE)
  ['SOS', 2], // Somali shilling
  ['SRD', 2], // Surinam dollar
  ['SSP', 2], // South Sudanese pound
  ['STN', 2], // Dobra
  ['SVC', 2], // El Salvador colon
  ['SYP', 2], // Syrian pound
  ['SZL', 2], // Lilangeni
  ['THB', 2], // Baht
  ['TJS', 2], // Somoni
  ['TMT', 2], // Turkmenistan new manat
  ['TND', 3], // Tunisian dinar
  ['TOP', 2], // Pa'anga
  ['TRY', 2], // Turkish lira
  ['TTD', 2], // Trinidad and Tobago dollar
  ['TWD', 2], // New Taiwan dollar
  ['TZS', 2], // Tanzanian shilling
  ['UAH', 2], // Hryvnia
  ['UGX', 0], // Uganda shilling
  ['USD', 2], // US dollar
  ['USN', 2], // US dollar (next day)
  ['UYI', 0], // Uruguay peso en unidades indexadas
  ['UYU', 2], // Peso uruguayo
  ['UYW', 4], // Unidad previsional
  ['UZS', 2], // Uzbekistan sum
  ['VED', 2], // Bolivar soberano (digital)
  ['VES', 2], // Bolivar soberano
  ['VND', 0], // Dong
  ['VUV', 0], // Vatu
  ['WST', 2], // Tala
  ['XAF', 0], // CFA franc BEAC
  ['XCD', 2], // East Caribbean dollar
  ['XCG', 2], // Caribbean guilder
  ['XOF', 0], // CFA franc BCEAO
  ['XPF', 0], // CFP franc
  ['YER', 2], // Yemeni rial
  ['ZAR', 2], // Rand
  ['ZMW', 2], // Zambian kwacha
  ['ZWG', 2], // Zimbabwe gold
  ['ZWL', 2], // Zimbabwe dollar (being replaced by ZWG)
]);

function assertAsset(code: string, scale: number): void {
  if (!CURRENCY_CODE_PATTERN.test(code)) {
    throw new Error(`asset code ${JSON.stringify(code)} must match ${CURRENCY_CODE_PATTERN.source}`);
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) {
    throw new Error(`asset ${code} has scale ${String(scale)}; it must be an integer 0..${MAX_SCALE}`);
  }
}

/** Looks up the scale of ISO 4217 currencies and configured extra assets. */
export class CurrencyRegistry {
  private readonly scales: ReadonlyMap<string, number>;

  /**
   * @param extraAssets code -> scale (0..18), e.g. from parseExtraAssets(env). An extra asset may
   *   repeat an ISO code only with the same scale; anything else throws a plain Error.
   */
  constructor(extraAssets: ReadonlyMap<string, number> = new Map()) {
    const scales = new Map(ISO_4217_SCALES);
    for (const [code, scale] of extraAssets) {
      assertAsset(code, scale);
      const iso = ISO_4217_SCALES.get(code);
      if (iso !== undefined && iso !== scale) {
        throw new Error(
          `asset ${code} is the ISO 4217 currency with scale ${iso}; it cannot be redefined with scale ${scale}`,
        );
      }
      scales.set(code, scale);
    }
    this.scales = scales;
  }

  has(code: string): boolean {
    return this.scales.has(code);
  }

  /** The number of decimals of `code`; throws LedgerError UNKNOWN_CURRENCY for unknown or badly formed codes. */
  scaleOf(code: string): number {
    const scale = this.scales.get(code);
    if (scale !== undefined) return scale;
    const shown = JSON.stringify(code.length > 16 ? `${code.slice(0, 16)}...` : code);
    if (!CURRENCY_CODE_PATTERN.test(code)) {
      const hint = CURRENCY_CODE_PATTERN.test(code.toUpperCase()) ? ' (codes are upper case)' : '';
      throw new LedgerError(
        'UNKNOWN_CURRENCY',
        `currency ${shown} is not a valid code: 2-12 upper case letters or digits, starting with a letter${hint}`,
      );
    }
    throw new LedgerError('UNKNOWN_CURRENCY', `currency ${shown} is neither ISO 4217 nor a configured asset`);
  }

  /** All known codes, sorted. */
  codes(): string[] {
    return [...this.scales.keys()].sort();
  }
}

/**
 * Parses an extra-assets spec such as "BTC:8,USDT:6" (spaces around entries are ignored; ""
 * gives an empty map). Throws a plain Error naming the bad entry: bad code, scale outside 0..18,
 * a duplicate, an ISO 4217 code, or an empty entry.
 */
export function parseExtraAssets(spec: string): Map<string, number> {
  const assets = new Map<string, number>();
  if (spec.trim() === '') return assets;
  const entries = spec.split(',');
  for (const [i, raw] of entries.entries()) {
    const entry = raw.trim();
    const where = `entry ${i + 1} (${JSON.stringify(entry)})`;
    if (entry === '') {
      throw new Error(`empty ${where}; expected CODE:SCALE entries separated by commas, e.g. "BTC:8,USDT:6"`);
    }
    const m = /^([^:]*):([^:]*)$/.exec(entry);
    if (m === null) {
      throw new Error(`${where} is not CODE:SCALE, e.g. "BTC:8"`);
    }
    const code = (m[1] as string).trim();
    const scaleText = (m[2] as string).trim();
    if (!CURRENCY_CODE_PATTERN.test(code)) {
      throw new Error(
        `${where}: code ${JSON.stringify(code)} must be 2-12 upper case letters or digits starting with a letter`,
      );
    }
    if (!/^[0-9]{1,2}$/.test(scaleText) || Number.parseInt(scaleText, 10) > MAX_SCALE) {
      throw new Error(`${where}: scale ${JSON.stringify(scaleText)} must be an integer 0..${MAX_SCALE}`);
    }
    if (ISO_4217_SCALES.has(code)) {
      throw new Error(`${where}: ${code} is a built-in ISO 4217 currency and cannot be configured`);
    }
    if (assets.has(code)) {
      throw new Error(`${where}: ${code} is listed twice`);
    }
    assets.set(code, Number.parseInt(scaleText, 10));
  }
  return assets;
}
