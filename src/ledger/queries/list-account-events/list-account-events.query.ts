import { Query } from '@nestjs/cqrs';
import type { LedgerEvent } from '../../domain/events';

export interface EventPage {
  events: LedgerEvent[];
  /** 0 when there is nothing more */
  nextFromVersion: number;
}

export class ListAccountEventsQuery extends Query<EventPage> {
  constructor(
    readonly accountId: string,
    /** inclusive; 0 or 1 = from the start */
    readonly fromVersion: number,
    /** 1-1000; 0 = the default 100 */
    readonly limit: number,
  ) {
    super();
  }
}
