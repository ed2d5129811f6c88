import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AmendReservationHandler } from './commands/amend-reservation/amend-reservation.handler';
import { ChangeAccountStatusHandler } from './commands/change-account-status/change-account-status.handler';
import { CommitReservationHandler } from './commands/commit-reservation/commit-reservation.handler';
import { DepositFundsHandler } from './commands/deposit-funds/deposit-funds.handler';
import { OpenAccountHandler } from './commands/open-account/open-account.handler';
import { ReleaseReservationHandler } from './commands/release-reservation/release-reservation.handler';
import { ReserveFundsHandler } from './commands/reserve-funds/reserve-funds.handler';
import { TransferFundsHandler } from './commands/transfer-funds/transfer-funds.handler';
import { WithdrawFundsHandler } from './commands/withdraw-funds/withdraw-funds.handler';
import { LedgerController } from './grpc/ledger.controller';
import { ProtoMapper } from './grpc/to-proto';
import { GetAccountHandler } from './queries/get-account/get-account.handler';
import { GetBalanceAtHandler } from './queries/get-balance-at/get-balance-at.handler';
import { GetReservationHandler } from './queries/get-reservation/get-reservation.handler';
import { ListAccountEventsHandler } from './queries/list-account-events/list-account-events.handler';
import { CurrencyRegistry } from './domain/currency';

@Module({
  imports: [CqrsModule],
  controllers: [LedgerController],
  providers: [
    {
      provide: ProtoMapper,
      inject: [CurrencyRegistry],
      useFactory: (currencies: CurrencyRegistry) => new ProtoMapper(currencies),
    },
    OpenAccountHandler,
    ChangeAccountStatusHandler,
    DepositFundsHandler,
    WithdrawFundsHandler,
    TransferFundsHandler,
    ReserveFundsHandler,
    AmendReservationHandler,
    CommitReservationHandler,
    ReleaseReservationHandler,
    GetAccountHandler,
    GetReservationHandler,
    ListAccountEventsHandler,
    GetBalanceAtHandler,
  ],
})
export class LedgerModule {}
