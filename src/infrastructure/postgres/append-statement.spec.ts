import fc from 'fast-check';
import { escapeLiteral } from 'pg';
import { arrayLiteral, quoteLiteral } from './append-statement';

/** Reads back a quoted literal the way Postgres does (standard_conforming_strings on). */
function unquote(literal: string): string {
  const escaped = literal.startsWith(" E'");
  const body = literal.slice(escaped ? 3 : 1, -1).replace(/''/g, "'");
  return escaped ? body.replace(/\\\\/g, '\\') : body;
}

/** Reads back an array literal whose elements are all double-quoted (array syntax). */
function elements(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"/gs;
  for (const match of text.matchAll(re)) out.push(match[1]!.replace(/\\(.)/gs, '$1'));
  return out;
}

describe('the batch statement as literals', () => {
  it("quotes text exactly as pg's escapeLiteral does", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(quoteLiteral(text)).toBe(escapeLiteral(text));
      }),
      { numRuns: 5000 },
    );
    for (const text of ["'", '\\', "\\'", "''\\\\", "'); DROP TABLE ledger_events; --"]) {
      expect(quoteLiteral(text)).toBe(escapeLiteral(text));
    }
  });

  it('an array literal reads back as the very elements, whatever they hold', () => {
    const element = fc.oneof(fc.string({ unit: 'binary' }), fc.integer());
    fc.assert(
      fc.property(fc.array(element, { maxLength: 20 }), (values) => {
        const literal = arrayLiteral(values);
        const text = unquote(literal);
        expect(text.startsWith('{') && text.endsWith('}')).toBe(true);
        expect(elements(text)).toEqual(values.map(String));
      }),
      { numRuns: 2000 },
    );
  });
});
