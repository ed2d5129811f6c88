import { Controller, UseInterceptors } from '@nestjs/common';
import { type Command, CommandBus, QueryBus } from '@nestjs/cqrs';
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
import { CommandSteps } from '../commands/shared/command-steps';
import { TransferFundsCommand } from '../commands/transfer-funds/transfer-funds.command';
import { WithdrawFundsCommand } from '../commands/withdraw-funds/withdraw-funds.command';
import type { AccountResult, ReservationResult } from '../ports/ledger-store';
import type { PointInTime } from '../ports/event-history';
import { GetAccountQuery } from '../queries/get-account/get-account.query';
import { GetBalanceAtQuery } from '../queries/get-balance-at/get-balance-at.query';
import { ListAccountEventsQuery } from '../queries/list-account-events/list-account-events.query';
import { GetReservationQuery } from '../queries/get-reservation/get-reservation.query';
import { RefuseAbandonedCalls } from '../../infrastructure/grpc/call-deadline';
import { RejectMalformedRequests } from '../../infrastructure/grpc/malformed-requests';
import { ProtoMapper } from './to-proto';

/**
 * ledger.v1.LedgerService over gRPC. It only translates: request -> command or query, result ->
 * reply. grpc-js calls it through dispatchDirectly (direct-dispatch.ts), which first refuses
 * calls whose caller already gave up and request bytes that do not decode, and turns errors into
 * statuses (the same steps as the interceptors and filter below, which Nest's pipeline would
 * run). Each command runs, with the mapping of its result, as one traced and timed unit named
 * after it (CommandSteps).
 */
@Controller()
@UseInterceptors(RefuseAbandonedCalls, RejectMalformedRequests)
@LedgerServiceControllerMethods()
export class LedgerController implements LedgerServiceController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    private readonly toProto: ProtoMapper,
    private readonly steps: CommandSteps,
  ) {}

  /** Executes a command and maps its result, inside the command's span; the mapping is step "to-response". */
  private run<R, T>(name: string, command: Command<R>, toReply: (result: R) => T): Promise<T> {
    return this.steps.command(name, async () => {
      const result = await this.commands.execute(command);
      return this.steps.run(name, 'to-response', () => toReply(result));
    });
  }

  private accountReply(result: AccountResult): AccountReply {
    return { account: this.toProto.account(result.account), replayed: result.replayed };
  }

  private movementReply(transactionId: string, result: AccountResult): MovementReply {
    return { transactionId, account: this.toProto.account(result.account), replayed: result.replayed };
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
    return this.run('OpenAccount', command, (r) => this.accountReply(r));
  }

  async getAccount(request: GetAccountRequest): Promise<AccountReply> {
    const account = await this.queries.execute(new GetAccountQuery(request.accountId));
    return { account: this.toProto.account(account), replayed: false };
  }

  async freezeAccount(request: ChangeAccountStatusRequest): Promise<AccountReply> {
    const command = new ChangeAccountStatusCommand(request.accountId, 'FROZEN', request.reason);
    return this.run('FreezeAccount', command, (r) => this.accountReply(r));
  }

  async unfreezeAccount(request: ChangeAccountStatusRequest): Promise<AccountReply> {
    const command = new ChangeAccountStatusCommand(request.accountId, 'OPEN', request.reason);
    return this.run('UnfreezeAccount', command, (r) => this.accountReply(r));
  }

  async closeAccount(request: ChangeAccountStatusRequest): Promise<AccountReply> {
    const command = new ChangeAccountStatusCommand(request.accountId, 'CLOSED', request.reason);
    return this.run('CloseAccount', command, (r) => this.accountReply(r));
  }

  async deposit(request: DepositRequest): Promise<MovementReply> {
    const command = new DepositFundsCommand(request.transactionId, request.accountId, request.amount, request.metadata);
    return this.run('DepositFunds', command, (r) => this.movementReply(request.transactionId, r));
  }

  async withdraw(request: WithdrawRequest): Promise<MovementReply> {
    const command = new WithdrawFundsCommand(
      request.transactionId,
      request.accountId,
      request.amount,
      request.metadata,
    );
    return this.run('WithdrawFunds', command, (r) => this.movementReply(request.transactionId, r));
  }

  async transfer(request: TransferRequest): Promise<TransferReply> {
    const command = new TransferFundsCommand(
      request.transactionId,
      request.fromAccountId,
      request.toAccountId,
      request.amount,
      request.metadata,
    );
    return this.run('TransferFunds', command, (result) => ({
      transactionId: request.transactionId,
      fromAccount: this.toProto.account(result.from),
      toAccount: this.toProto.account(result.to),
      replayed: result.replayed,
    }));
  }

  async reserve(request: ReserveRequest): Promise<ReservationReply> {
    const command = new ReserveFundsCommand(
      request.reservationId,
      request.accountId,
      request.amount,
      request.orderId,
      request.ttlSeconds,
    );
    return this.run('ReserveFunds', command, (r) => this.reservationReply(r));
  }

  async amendReservation(request: AmendReservationRequest): Promise<ReservationReply> {
    const command = new AmendReservationCommand(request.reservationId, request.amendId, request.newAmount);
    return this.run('AmendReservation', command, (r) => this.reservationReply(r));
  }

  async commitReservation(request: CommitReservationRequest): Promise<ReservationReply> {
    const command = new CommitReservationCommand(
      request.reservationId,
      request.commitId,
      request.amount,
      request.final,
    );
    return this.run('CommitReservation', command, (r) => this.reservationReply(r));
  }

  async releaseReservation(request: ReleaseReservationRequest): Promise<ReservationReply> {
    const command = new ReleaseReservationCommand(request.reservationId, request.reason);
    return this.run('ReleaseReservation', command, (r) => this.reservationReply(r));
  }

  async getReservation(request: GetReservationRequest): Promise<ReservationReply> {
    return this.reservationReply(await this.queries.execute(new GetReservationQuery(request.reservationId)));
  }

  async listAccountEvents(request: ListAccountEventsRequest): Promise<ListAccountEventsReply> {
    const page = await this.queries.execute(
      new ListAccountEventsQuery(request.accountId, Number(request.fromVersion || 0), request.limit),
    );
    return { events: page.events.map((e) => this.toProto.event(e)), nextFromVersion: String(page.nextFromVersion) };
  }

  async getBalanceAt(request: GetBalanceAtRequest): Promise<BalanceAtReply> {
    const account = await this.queries.execute(new GetBalanceAtQuery(request.accountId, pointInTime(request)));
    return { account: this.toProto.account(account) };
  }
}

/** The request's `at` oneof (proto-loader names the field that is set in `at`). */
function pointInTime(request: GetBalanceAtRequest & { at?: string }): PointInTime | undefined {
  if (request.at === 'version' || (request.at === undefined && request.version && request.version !== '0')) {
    return { version: Number(request.version) };
  }
  if (request.at === 'time' || (request.at === undefined && request.time)) {
    const time = request.time;
    if (!time) return undefined;
    return { timeMs: Number(time.seconds) * 1000 + Math.floor(time.nanos / 1_000_000) };
  }
  return undefined;
}
