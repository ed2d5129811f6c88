import { Query } from '@nestjs/cqrs';
import type { ReservationResult } from '../../ports/ledger-store';

export class GetReservationQuery extends Query<ReservationResult> {
  constructor(readonly reservationId: string) {
    super();
  }
}
