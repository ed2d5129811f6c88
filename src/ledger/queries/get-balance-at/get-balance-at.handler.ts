import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { LedgerError } from '../../domain/errors';
import { validateAccountId } from '../../domain/validation';
import { EventHistory } from '../../ports/event-history';
import type { AccountSnapshot } from '../../ports/ledger-store';
import { GetBalanceAtQuery } from './get-balance-at.query';

/** The account as it stood at a version or a time: the fold of its events stopped there. */
@QueryHandler(GetBalanceAtQuery)
export class GetBalanceAtHandler implements IQueryHandler<GetBalanceAtQuery> {
  constructor(private readonly history: EventHistory) {}

  async execute(query: GetBalanceAtQuery): Promise<AccountSnapshot> {
    validateAccountId(query.accountId);
    const at = query.at;
    if (!at) throw new LedgerError('INVALID_ARGUMENT', 'one of version or time is required');
    if ('version' in at && (!Number.isSafeInteger(at.version) || at.version < 1)) {
      throw new LedgerError('INVALID_ARGUMENT', 'version must be >= 1');
    }
    const state = await this.history.stateAt(query.accountId, at);
    if (!state) {
      throw new LedgerError('ACCOUNT_NOT_FOUND', `account ${query.accountId} has no stored events at that point`);
    }
    if ('version' in at && state.version < at.version) {
      throw new LedgerError(
        'INVALID_ARGUMENT',
        `account ${query.accountId} has no version ${at.version} yet (stored: ${state.version})`,
      );
    }
    const { reservations: _, ...account } = state;
    return account;
  }
}
