import { Command } from '@nestjs/cqrs';
import type { ReservationResult } from '../../ports/ledger-store';
import type { MoneyInput } from '../shared/parse-money';

export class AmendReservationCommand extends Command<ReservationResult> {
  constructor(
    readonly reservationId: string,
    readonly amendId: string,
    readonly newAmount: MoneyInput | undefined,
  ) {
    super();
  }
}
