import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CurrencyRegistry } from '../../domain/currency';
import { LedgerError } from '../../domain/errors';
import { validateAccountId, validateMetadata, validateRequestId } from '../../domain/validation';
import { LedgerStore, type TransferResult } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { parseMoney } from '../shared/parse-money';
import { TransferFundsCommand } from './transfer-funds.command';

@CommandHandler(TransferFundsCommand)
export class TransferFundsHandler implements ICommandHandler<TransferFundsCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly currencies: CurrencyRegistry,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: TransferFundsCommand): Promise<TransferResult> {
    const name = 'TransferFunds';
    this.steps.run(name, 'validate', () => {
      validateRequestId(command.transactionId, 'transaction_id');
      validateAccountId(command.fromAccountId, 'from_account_id');
      validateAccountId(command.toAccountId, 'to_account_id');
      if (command.fromAccountId === command.toAccountId) {
        throw new LedgerError('INVALID_ARGUMENT', 'from_account_id and to_account_id must differ');
      }
      validateMetadata(command.metadata);
    });
    const money = this.steps.run(name, 'parse-money', () => parseMoney(command.amount, this.currencies, 'amount'));
    return this.steps.run(name, 'repository', () =>
      this.store.transfer(
        {
          transactionId: command.transactionId,
          fromAccountId: command.fromAccountId,
          toAccountId: command.toAccountId,
          currency: money.currency,
          amount: money.minor,
          metadata: command.metadata,
        },
        currentCallContext(),
      ),
    );
  }
}
