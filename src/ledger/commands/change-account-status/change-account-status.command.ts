import { Command } from '@nestjs/cqrs';
import type { AccountResult, StatusTarget } from '../../ports/ledger-store';

/** Freeze (FROZEN), unfreeze (OPEN) or close (CLOSED) an account. */
export class ChangeAccountStatusCommand extends Command<AccountResult> {
  constructor(
    readonly accountId: string,
    readonly target: StatusTarget,
    readonly reason: string,
  ) {
    super();
  }
}
