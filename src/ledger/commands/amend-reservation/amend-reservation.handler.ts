import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CurrencyRegistry } from '../../domain/currency';
import { validateRequestId } from '../../domain/validation';
import { LedgerStore, type ReservationResult } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { parseMoney } from '../shared/parse-money';
import { AmendReservationCommand } from './amend-reservation.command';

@CommandHandler(AmendReservationCommand)
export class AmendReservationHandler implements ICommandHandler<AmendReservationCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly currencies: CurrencyRegistry,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: AmendReservationCommand): Promise<ReservationResult> {
    const name = 'AmendReservation';
    this.steps.run(name, 'validate', () => {
      validateRequestId(command.reservationId, 'reservation_id');
      validateRequestId(command.amendId, 'amend_id');
    });
    const money = this.steps.run(name, 'parse-money', () =>
      parseMoney(command.newAmount, this.currencies, 'new_amount'),
    );
    return this.steps.run(name, 'repository', () =>
      this.store.amend(
        {
          reservationId: command.reservationId,
          amendId: command.amendId,
          currency: money.currency,
          newAmount: money.minor,
        },
        currentCallContext(),
      ),
    );
  }
}
