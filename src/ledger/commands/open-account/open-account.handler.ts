import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CurrencyRegistry } from '../../domain/currency';
import { parseNonNegativeAmount } from '../../domain/money';
import { validateAccountId, validateMetadata } from '../../domain/validation';
import { type AccountResult, LedgerStore } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { OpenAccountCommand } from './open-account.command';

@CommandHandler(OpenAccountCommand)
export class OpenAccountHandler implements ICommandHandler<OpenAccountCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly currencies: CurrencyRegistry,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: OpenAccountCommand): Promise<AccountResult> {
    const name = 'OpenAccount';
    this.steps.run(name, 'validate', () => {
      validateAccountId(command.accountId);
      validateMetadata(command.metadata);
    });
    const overdraftLimit = this.steps.run(name, 'parse-money', () =>
      parseNonNegativeAmount(command.overdraftLimit, this.currencies.scaleOf(command.currency)),
    );
    return this.steps.run(name, 'repository', () =>
      this.store.openAccount(
        { accountId: command.accountId, currency: command.currency, overdraftLimit, metadata: command.metadata },
        currentCallContext(),
      ),
    );
  }
}
