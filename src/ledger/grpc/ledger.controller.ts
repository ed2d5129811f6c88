import { status as GrpcStatus } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { RpcException } from '@nestjs/microservices';
import {
  type AccountReply,
  type AmendReservationRequest,
  type BalanceAtReply,
  type ChangeAccountStatusRequest,
  type CommitReservationRequest,
  type DepositRequest,
  type GetAccountRequest,
  type GetBalanceAtRequest,
  type GetReservationRequest,
  type LedgerServiceController,
  LedgerServiceControllerMethods,
  type ListAccountEventsReply,
  type ListAccountEventsRequest,
  type MovementReply,
  type OpenAccountRequest,
  type ReleaseReservationRequest,
  type ReservationReply,
  type ReserveRequest,
  type TransferReply,
  type TransferRequest,
  type WithdrawRequest,
} from '../../generated/ledger/v1/ledger';
import { AmendReservationCommand } from '../commands/amend-reservation/amend-reservation.command';
import { ChangeAccountStatusCommand } from '../commands/change-account-status/change-account-status.command';
import { CommitReservationCommand } from '../commands/commit-reservation/commit-reservation.command';
import { DepositFundsCommand } from '../commands/deposit-funds/deposit-funds.command';
import { OpenAccountCommand } from '../commands/open-account/open-account.command';
import { ReleaseReservationCommand } from '../commands/release-reservation/release-reservation.command';
import { ReserveFundsCommand } from '../commands/reserve-funds/reserve-funds.command';
import { TransferFundsCommand } from '../commands/transfer-funds/transfer-funds.command';
import { WithdrawFundsCommand } from '../commands/withdraw-funds/withdraw-funds.command';
import type { AccountResult, ReservationResult } from '../ports/ledger-store';
import { GetAccountQuery } from '../queries/get-account/get-account.query';
import { GetReservationQuery } from '../queries/get-reservation/get-reservation.query';
import { ProtoMapper } from './to-proto';

/**
 * ledger.v1.LedgerService over gRPC. It only translates: request -> command or query, result ->
 * reply. Errors become statuses in GrpcExceptionFilter.
 */
@Controller()
@LedgerServiceControllerMethods()
export class LedgerController implements LedgerServiceController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    private readonly toProto: ProtoMapper,
  ) {}

  private accountReply(result: AccountResult): AccountReply {
    return { account: this.toProto.account(result.account), replayed: result.replayed };
  }

  private reservationReply(result: ReservationResult): ReservationReply {
    return {
      reservation: this.toProto.reservation(result.reservation),
      account: this.toProto.account(result.account),
      replayed: result.replayed,
    };
  }

  async openAccount(request: OpenAccountRequest): Promise<AccountReply> {
    const command = new OpenAccountCommand(
      request.accountId,
      request.currency,
      request.overdraftLimit,
      request.metadata,
    );
    return this.accountReply(await this.commands.execute(command));
  }

  async getAccount(request: GetAccountRequest): Promise<AccountReply> {
    const account = await this.queries.execute(new GetAccountQuery(request.accountId));
    return { account: this.toProto.account(account), replayed: false };
  }

  async freezeAccount(request: ChangeAccountStatusRequest): Promise<AccountReply> {
    const command = new ChangeAccountStatusCommand(request.accountId, 'FROZEN', request.reason);
    return this.accountReply(await this.commands.execute(command));
  }

  async unfreezeAccount(request: ChangeAccountStatusRequest): Promise<AccountReply> {
    const command = new ChangeAccountStatusCommand(request.accountId, 'OPEN', request.reason);
    return this.accountReply(await this.commands.execute(command));
  }

  async closeAccount(request: ChangeAccountStatusRequest): Promise<AccountReply> {
    const command = new ChangeAccountStatusCommand(request.accountId, 'CLOSED', request.reason);
    return this.accountReply(await this.commands.execute(command));
  }

  async deposit(request: DepositRequest): Promise<MovementReply> {
    const command = new DepositFundsCommand(request.transactionId, request.accountId, request.amount, request.metadata);
    const result = await this.commands.execute(command);
    return {
      transactionId: request.transactionId,
      account: this.toProto.account(result.account),
      replayed: result.replayed,
    };
  }

  async withdraw(request: WithdrawRequest): Promise<MovementReply> {
    const command = new WithdrawFundsCommand(
      request.transactionId,
      request.accountId,
      request.amount,
      request.metadata,
    );
    const result = await this.commands.execute(command);
    return {
      transactionId: request.transactionId,
      account: this.toProto.account(result.account),
      replayed: result.replayed,
    };
  }

  async transfer(request: TransferRequest): Promise<TransferReply> {
    const command = new TransferFundsCommand(
      request.transactionId,
      request.fromAccountId,
      request.toAccountId,
      request.amount,
      request.metadata,
    );
    const result = await this.commands.execute(command);
    return {
      transactionId: request.transactionId,
      fromAccount: this.toProto.account(result.from),
      toAccount: this.toProto.account(result.to),
      replayed: result.replayed,
    };
  }

  async reserve(request: ReserveRequest): Promise<ReservationReply> {
    const command = new ReserveFundsCommand(
      request.reservationId,
      request.accountId,
      request.amount,
      request.orderId,
      request.ttlSeconds,
    );
    return this.reservationReply(await this.commands.execute(command));
  }

  async amendReservation(request: AmendReservationRequest): Promise<ReservationReply> {
    const command = new AmendReservationCommand(request.reservationId, request.amendId, request.newAmount);
    return this.reservationReply(await this.commands.execute(command));
  }

  async commitReservation(request: CommitReservationRequest): Promise<ReservationReply> {
    const command = new CommitReservationCommand(
      request.reservationId,
      request.commitId,
      request.amount,
      request.final,
    );
    return this.reservationReply(await this.commands.execute(command));
  }

  async releaseReservation(request: ReleaseReservationRequest): Promise<ReservationReply> {
    const command = new ReleaseReservationCommand(request.reservationId, request.reason);
    return this.reservationReply(await this.commands.execute(command));
  }

  async getReservation(request: GetReservationRequest): Promise<ReservationReply> {
    return this.reservationReply(await this.queries.execute(new GetReservationQuery(request.reservationId)));
  }

  listAccountEvents(_request: ListAccountEventsRequest): Promise<ListAccountEventsReply> {
    throw new RpcException({ code: GrpcStatus.UNIMPLEMENTED, message: 'ListAccountEvents needs the event store' });
  }

  getBalanceAt(_request: GetBalanceAtRequest): Promise<BalanceAtReply> {
    throw new RpcException({ code: GrpcStatus.UNIMPLEMENTED, message: 'GetBalanceAt needs the event store' });
  }
}
