import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CurrencyRegistry } from '../../domain/currency';
import { validateRequestId } from '../../domain/validation';
import { LedgerStore, type ReservationResult } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { parseMoney } from '../shared/parse-money';
import { CommitReservationCommand } from './commit-reservation.command';

@CommandHandler(CommitReservationCommand)
export class CommitReservationHandler implements ICommandHandler<CommitReservationCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly currencies: CurrencyRegistry,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: CommitReservationCommand): Promise<ReservationResult> {
    const name = 'CommitReservation';
    this.steps.run(name, 'validate', () => {
      validateRequestId(command.reservationId, 'reservation_id');
      validateRequestId(command.commitId, 'commit_id');
    });
    const money = this.steps.run(name, 'parse-money', () => parseMoney(command.amount, this.currencies, 'amount'));
    return this.steps.run(name, 'repository', () =>
      this.store.commit(
        {
          reservationId: command.reservationId,
          commitId: command.commitId,
          currency: money.currency,
          amount: money.minor,
          final: command.final,
        },
        currentCallContext(),
      ),
    );
  }
}
