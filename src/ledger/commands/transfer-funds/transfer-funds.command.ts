import { Command } from '@nestjs/cqrs';
import type { TransferResult } from '../../ports/ledger-store';
import type { MoneyInput } from '../shared/parse-money';

export class TransferFundsCommand extends Command<TransferResult> {
  constructor(
    readonly transactionId: string,
    readonly fromAccountId: string,
    readonly toAccountId: string,
    readonly amount: MoneyInput | undefined,
    readonly metadata: Record<string, string>,
  ) {
    super();
  }
}
