import { Query } from '@nestjs/cqrs';
import type { PointInTime } from '../../ports/event-history';
import type { AccountSnapshot } from '../../ports/ledger-store';

export class GetBalanceAtQuery extends Query<AccountSnapshot> {
  constructor(
    readonly accountId: string,
    readonly at: PointInTime | undefined,
  ) {
    super();
  }
}
