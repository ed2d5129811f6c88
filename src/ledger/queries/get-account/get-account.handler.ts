import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { validateAccountId } from '../../domain/validation';
import { type AccountSnapshot, LedgerStore } from '../../ports/ledger-store';
import { GetAccountQuery } from './get-account.query';

@QueryHandler(GetAccountQuery)
export class GetAccountHandler implements IQueryHandler<GetAccountQuery> {
  constructor(private readonly store: LedgerStore) {}

  async execute(query: GetAccountQuery): Promise<AccountSnapshot> {
    validateAccountId(query.accountId);
    return this.store.getAccount(query.accountId);
  }
}
