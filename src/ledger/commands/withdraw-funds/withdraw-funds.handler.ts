import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CurrencyRegistry } from '../../domain/currency';
import { validateAccountId, validateMetadata, validateRequestId } from '../../domain/validation';
import { type AccountResult, LedgerStore } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { parseMoney } from '../shared/parse-money';
import { WithdrawFundsCommand } from './withdraw-funds.command';

@CommandHandler(WithdrawFundsCommand)
export class WithdrawFundsHandler implements ICommandHandler<WithdrawFundsCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly currencies: CurrencyRegistry,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: WithdrawFundsCommand): Promise<AccountResult> {
    const name = 'WithdrawFunds';
    this.steps.run(name, 'validate', () => {
      validateRequestId(command.transactionId, 'transaction_id');
      validateAccountId(command.accountId);
      validateMetadata(command.metadata);
    });
    const money = this.steps.run(name, 'parse-money', () => parseMoney(command.amount, this.currencies, 'amount'));
    return this.steps.run(name, 'repository', () =>
      this.store.withdraw(
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
