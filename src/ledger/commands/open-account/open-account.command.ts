import { Command } from '@nestjs/cqrs';
import type { AccountResult } from '../../ports/ledger-store';

export class OpenAccountCommand extends Command<AccountResult> {
  constructor(
    readonly accountId: string,
    readonly currency: string,
    /** decimal text; "" means no overdraft */
    readonly overdraftLimit: string,
    readonly metadata: Record<string, string>,
  ) {
    super();
  }
}
