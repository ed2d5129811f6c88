import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CurrencyRegistry } from '../../domain/currency';
import { validateAccountId, validateReason, validateRequestId, validateTtlSeconds } from '../../domain/validation';
import { LedgerStore, type ReservationResult } from '../../ports/ledger-store';
import { currentCallContext } from '../shared/call-context';
import { CommandSteps } from '../shared/command-steps';
import { parseMoney } from '../shared/parse-money';
import { ReserveFundsCommand } from './reserve-funds.command';

/** Reserve: validate, parse the amount, then one atomic Lua script (lua/reserve.lua) in Redis. */
@CommandHandler(ReserveFundsCommand)
export class ReserveFundsHandler implements ICommandHandler<ReserveFundsCommand> {
  constructor(
    private readonly store: LedgerStore,
    private readonly currencies: CurrencyRegistry,
    private readonly steps: CommandSteps,
  ) {}

  async execute(command: ReserveFundsCommand): Promise<ReservationResult> {
    const name = 'ReserveFunds';
    this.steps.run(name, 'validate', () => {
      validateRequestId(command.reservationId, 'reservation_id');
      validateAccountId(command.accountId);
      validateTtlSeconds(command.ttlSeconds);
      // order_id is the caller's free-form reference: bounded like any free text.
      validateReason(command.orderId, 'order_id');
    });
    const money = this.steps.run(name, 'parse-money', () => parseMoney(command.amount, this.currencies, 'amount'));
    return this.steps.run(name, 'repository', () =>
      this.store.reserve(
        {
          reservationId: command.reservationId,
          accountId: command.accountId,
          currency: money.currency,
          amount: money.minor,
          orderId: command.orderId,
          ttlSeconds: command.ttlSeconds,
        },
        currentCallContext(),
      ),
    );
  }
}
