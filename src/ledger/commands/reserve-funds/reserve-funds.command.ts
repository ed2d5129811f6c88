import { Command } from '@nestjs/cqrs';
import type { ReservationResult } from '../../ports/ledger-store';
import type { MoneyInput } from '../shared/parse-money';

/** Hold funds for an order: the hot path. */
export class ReserveFundsCommand extends Command<ReservationResult> {
  constructor(
    readonly reservationId: string,
    readonly accountId: string,
    readonly amount: MoneyInput | undefined,
    readonly orderId: string,
    readonly ttlSeconds: number,
  ) {
    super();
  }
}
