import { Command } from '@nestjs/cqrs';
import type { MoneyInput } from '../shared/parse-money';
import type { AccountResult } from '../../ports/ledger-store';

export class DepositFundsCommand extends Command<AccountResult> {
  constructor(
    readonly transactionId: string,
    readonly accountId: string,
    readonly amount: MoneyInput | undefined,
    readonly metadata: Record<string, string>,
  ) {
    super();
  }
}
