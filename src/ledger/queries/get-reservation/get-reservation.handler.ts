import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { validateRequestId } from '../../domain/validation';
import { LedgerStore, type ReservationResult } from '../../ports/ledger-store';
import { GetReservationQuery } from './get-reservation.query';

@QueryHandler(GetReservationQuery)
export class GetReservationHandler implements IQueryHandler<GetReservationQuery> {
  constructor(private readonly store: LedgerStore) {}

  async execute(query: GetReservationQuery): Promise<ReservationResult> {
    validateRequestId(query.reservationId, 'reservation_id');
    return this.store.getReservation(query.reservationId);
  }
}
