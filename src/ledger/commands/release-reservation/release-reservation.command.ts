import { Command } from '@nestjs/cqrs';
import type { ReservationResult } from '../../ports/ledger-store';

export class ReleaseReservationCommand extends Command<ReservationResult> {
  constructor(
    readonly reservationId: string,
    readonly reason: string,
  ) {
    super();
  }
}
