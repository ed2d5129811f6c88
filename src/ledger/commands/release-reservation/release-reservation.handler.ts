import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { validateReason, validateRequestId } from '../../domain/validation';
import { LedgerStore, type ReservationResult } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { ReleaseReservationCommand } from './release-reservation.command';

@CommandHandler(ReleaseReservationCommand)
export class ReleaseReservationHandler implements ICommandHandler<ReleaseReservationCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: ReleaseReservationCommand): Promise<ReservationResult> {
    const name = 'ReleaseReservation';
    this.steps.run(name, 'validate', () => {
      validateRequestId(command.reservationId, 'reservation_id');
      validateReason(command.reason);
    });
    return this.steps.run(name, 'repository', () =>
      this.store.release({ reservationId: command.reservationId, reason: command.reason }, currentCallContext()),
    );
  }
}
