import type { AccountState } from '../ledger/domain/account';
import type { LedgerEvent } from '../ledger/domain/events';
import type { Difference } from './differences';

interface Totals {
  accounts: number;
  deposits: bigint;
  withdrawals: bigint;
  commits: bigint;
  debits: bigint;
  credits: bigint;
  /** sum of the folded balances */
  balances: bigint;
  /** sum of the balances Redis holds, over the accounts it holds */
  redisBalances: bigint;
  /** sum of the folded balances of those same accounts */
  foldedOfRedisAccounts: bigint;
}

function empty(): Totals {
  return {
    accounts: 0,
    deposits: 0n,
    withdrawals: 0n,
    commits: 0n,
    debits: 0n,
    credits: 0n,
    balances: 0n,
    redisBalances: 0n,
    foldedOfRedisAccounts: 0n,
  };
}

/**
 * Double entry, per currency (SPEC section 1): transfers debit exactly what they credit, and the
 * sum of all balances equals deposits - withdrawals - commits, in the event store and in Redis.
 * Memory: one line per currency.
 */
export class CurrencyTotals {
  private readonly totals = new Map<string, Totals>();

  private of(currency: string): Totals {
    let t = this.totals.get(currency);
    if (!t) {
      t = empty();
      this.totals.set(currency, t);
    }
    return t;
  }

  addEvent(e: LedgerEvent): void {
    const t = this.of(e.currency);
    if (e.type === 'FUNDS_DEPOSITED') t.deposits += e.amount;
    else if (e.type === 'FUNDS_WITHDRAWN') t.withdrawals += e.amount;
    else if (e.type === 'RESERVATION_COMMITTED') t.commits += e.amount;
    else if (e.type === 'TRANSFER_DEBITED') t.debits += e.amount;
    else if (e.type === 'TRANSFER_CREDITED') t.credits += e.amount;
  }

  /** A folded account, and the balance Redis holds for it (undefined: not in Redis). */
  addAccount(state: AccountState, redisBalance: bigint | undefined): void {
    const t = this.of(state.currency);
    t.accounts++;
    t.balances += state.balance;
    if (redisBalance !== undefined) {
      t.redisBalances += redisBalance;
      t.foldedOfRedisAccounts += state.balance;
    }
  }

  currencies(): string[] {
    return [...this.totals.keys()].sort();
  }

  check(): Difference[] {
    const out: Difference[] = [];
    for (const currency of this.currencies()) {
      const t = this.totals.get(currency) as Totals;
      const account = `currency ${currency}`;
      if (t.debits !== t.credits) {
        out.push({ account, field: 'transfers', detail: `debited ${t.debits} != credited ${t.credits} (minor units)` });
      }
      const expected = t.deposits - t.withdrawals - t.commits;
      if (t.balances !== expected) {
        out.push({
          account,
          field: 'conservation',
          detail:
            `sum of folded balances ${t.balances} != deposits ${t.deposits} - withdrawals ${t.withdrawals} ` +
            `- commits ${t.commits} = ${expected} (minor units)`,
        });
      }
      if (t.redisBalances !== t.foldedOfRedisAccounts) {
        out.push({
          account,
          field: 'conservation.redis',
          detail: `sum of redis balances ${t.redisBalances} != ${t.foldedOfRedisAccounts} in postgres over the same accounts`,
        });
      }
    }
    return out;
  }

  summary(): { currency: string; accounts: number; balances: string }[] {
    return this.currencies().map((currency) => {
      const t = this.totals.get(currency) as Totals;
      return { currency, accounts: t.accounts, balances: t.balances.toString() };
    });
  }
}
