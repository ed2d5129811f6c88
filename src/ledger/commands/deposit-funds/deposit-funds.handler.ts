import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CurrencyRegistry } from '../../domain/currency';
import { validateAccountId, validateMetadata, validateRequestId } from '../../domain/validation';
import { type AccountResult, LedgerStore } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { parseMoney } from '../shared/parse-money';
import { DepositFundsCommand } from './deposit-funds.command';

@CommandHandler(DepositFundsCommand)
export class DepositFundsHandler implements ICommandHandler<DepositFundsCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly currencies: CurrencyRegistry,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: DepositFundsCommand): Promise<AccountResult> {
    const name = 'DepositFunds';
    this.steps.run(name, 'validate', () => {
      validateRequestId(command.transactionId, 'transaction_id');
      validateAccountId(command.accountId);
      validateMetadata(command.metadata);
    });
    const money = this.steps.run(name, 'parse-money', () => parseMoney(command.amount, this.currencies, 'amount'));
    return this.steps.run(name, 'repository', () =>
      this.store.deposit(
        {
          transactionId: command.transactionId,
          accountId: command.accountId,
          currency: money.currency,
          amount: money.minor,
          metadata: command.metadata,
        },
        currentCallContext(),
      ),
    );
  }
}
