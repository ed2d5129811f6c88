import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { validateAccountId, validateReason } from '../../domain/validation';
import { type AccountResult, LedgerStore } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { ChangeAccountStatusCommand } from './change-account-status.command';

const COMMAND_NAMES = { OPEN: 'UnfreezeAccount', FROZEN: 'FreezeAccount', CLOSED: 'CloseAccount' } as const;

@CommandHandler(ChangeAccountStatusCommand)
export class ChangeAccountStatusHandler implements ICommandHandler<ChangeAccountStatusCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: ChangeAccountStatusCommand): Promise<AccountResult> {
    const name = COMMAND_NAMES[command.target];
    this.steps.run(name, 'validate', () => {
      validateAccountId(command.accountId);
      validateReason(command.reason);
    });
    return this.steps.run(name, 'repository', () =>
      this.store.changeStatus(command.accountId, command.target, command.reason, currentCallContext()),
    );
  }
}
