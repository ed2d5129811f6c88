import type { AccountState } from '../../ledger/domain/account';
import type { LedgerEvent } from '../../ledger/domain/events';
import { EventHistory, type PointInTime } from '../../ledger/ports/event-history';
import type { PostgresEventStore } from './postgres-event-store';
import { guardPostgres } from './postgres-errors';

/** EventHistory from Postgres; an unreachable database is DEPENDENCY_UNAVAILABLE. */
export class PostgresEventHistory extends EventHistory {
  constructor(private readonly events: PostgresEventStore) {
    super();
  }

  listEvents(accountId: string, fromVersion: number, limit: number): Promise<LedgerEvent[]> {
    return guardPostgres(this.events.listEvents(accountId, fromVersion, limit));
  }

  stateAt(accountId: string, at: PointInTime): Promise<AccountState | undefined> {
    return guardPostgres(this.events.stateAt(accountId, at));
  }
}
