import { Query } from '@nestjs/cqrs';
import type { AccountSnapshot } from '../../ports/ledger-store';

export class GetAccountQuery extends Query<AccountSnapshot> {
  constructor(readonly accountId: string) {
    super();
  }
}
