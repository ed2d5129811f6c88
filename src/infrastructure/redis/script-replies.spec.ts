import { LedgerError } from '../../ledger/domain/errors';
import { interpretReply } from './script-replies';

const render = (minor: bigint, currency: string): string =>
  currency === 'USD' ? `${(Number(minor) / 100).toFixed(2)} ${currency}` : `${minor} minor units of ${currency}`;

function rejectOf(raw: unknown): LedgerError {
  try {
    interpretReply(raw, render);
  } catch (error) {
    if (error instanceof LedgerError) return error;
    throw error;
  }
  throw new Error('expected a reject');
}

describe('interpretReply: the facts of a reject', () => {
  it('names the amounts of INSUFFICIENT_FUNDS, with the currency', () => {
    const e = rejectOf(['INSUFFICIENT_FUNDS', 'available {m:65000:USD} < {m:90000:USD}']);
    expect(e.message).toBe('INSUFFICIENT_FUNDS: available 650.00 USD < 900.00 USD');
    expect(e.facts).toEqual({ available: '650.00', requested: '900.00', currency: 'USD' });
  });

  it('names the amounts of the other rejects that carry some', () => {
    expect(rejectOf(['COMMIT_EXCEEDS_RESERVATION', 'commit {m:500:USD} > remaining {m:300:USD}']).facts).toEqual({
      requested: '5.00',
      remaining: '3.00',
      currency: 'USD',
    });
    expect(rejectOf(['AMEND_BELOW_COMMITTED', 'new amount {m:100:USD} < committed {m:200:USD}']).facts).toEqual({
      new_amount: '1.00',
      committed: '2.00',
      currency: 'USD',
    });
  });

  it('keeps an amount of an unknown currency as rendered, and a reject without amounts has no facts', () => {
    expect(rejectOf(['ACCOUNT_NOT_EMPTY', 'balance {m:7:XYZ}, held {m:0:XYZ}']).facts).toEqual({
      balance: '7 minor units of XYZ',
      held: '0 minor units of XYZ',
      currency: 'XYZ',
    });
    expect(rejectOf(['ACCOUNT_NOT_FOUND', 'account a does not exist']).facts).toEqual({});
  });
});
