import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { LedgerError } from '../../domain/errors';
import { validateAccountId } from '../../domain/validation';
import { EventHistory } from '../../ports/event-history';
import { type EventPage, ListAccountEventsQuery } from './list-account-events.query';

export const EVENT_PAGE_DEFAULT = 100;
export const EVENT_PAGE_MAX = 1000;

@QueryHandler(ListAccountEventsQuery)
export class ListAccountEventsHandler implements IQueryHandler<ListAccountEventsQuery> {
  constructor(private readonly history: EventHistory) {}

  async execute(query: ListAccountEventsQuery): Promise<EventPage> {
    validateAccountId(query.accountId);
    if (!Number.isSafeInteger(query.fromVersion) || query.fromVersion < 0) {
      throw new LedgerError('INVALID_ARGUMENT', `from_version must be a non-negative integer`);
    }
    if (query.limit < 0 || query.limit > EVENT_PAGE_MAX) {
      throw new LedgerError('INVALID_ARGUMENT', `limit must be 1-${EVENT_PAGE_MAX} (0 = ${EVENT_PAGE_DEFAULT})`);
    }
    const limit = query.limit === 0 ? EVENT_PAGE_DEFAULT : query.limit;
    const from = Math.max(1, query.fromVersion);
    // One more than asked for tells whether another page follows.
    const events = await this.history.listEvents(query.accountId, from, limit + 1);
    if (events.length === 0 && from === 1) {
      throw new LedgerError('ACCOUNT_NOT_FOUND', `account ${query.accountId} has no stored events`);
    }
    const page = events.slice(0, limit);
    const next = events.length > limit ? (page[page.length - 1]?.version ?? 0) + 1 : 0;
    return { events: page, nextFromVersion: next };
  }
}
