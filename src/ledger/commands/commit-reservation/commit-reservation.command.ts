import { Command } from '@nestjs/cqrs';
import type { ReservationResult } from '../../ports/ledger-store';
import type { MoneyInput } from '../shared/parse-money';

/** One fill of an order: consumes part of the hold; `final` gives the rest back. */
export class CommitReservationCommand extends Command<ReservationResult> {
  constructor(
    readonly reservationId: string,
    readonly commitId: string,
    readonly amount: MoneyInput | undefined,
    readonly final: boolean,
  ) {
    super();
  }
}
