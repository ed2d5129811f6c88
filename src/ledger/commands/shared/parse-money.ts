import type { CurrencyRegistry } from '../../domain/currency';
import { LedgerError } from '../../domain/errors';
import { parseAmount } from '../../domain/money';

export interface MoneyInput {
  amount: string;
  currency: string;
}

export interface ParsedMoney {
  currency: string;
  minor: bigint;
}

/** A wire Money ({amount, currency}) to integer minor units of a known currency. */
export function parseMoney(money: MoneyInput | undefined, currencies: CurrencyRegistry, field: string): ParsedMoney {
  if (!money) throw new LedgerError('INVALID_ARGUMENT', `${field} is required`);
  const scale = currencies.scaleOf(money.currency);
  return { currency: money.currency, minor: parseAmount(money.amount, scale) };
}
