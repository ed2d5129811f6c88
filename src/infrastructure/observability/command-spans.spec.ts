import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { CommandBus, QueryBus } from '@nestjs/cqrs';
import { AmendReservationHandler } from '../../ledger/commands/amend-reservation/amend-reservation.handler';
import { ChangeAccountStatusHandler } from '../../ledger/commands/change-account-status/change-account-status.handler';
import { CommitReservationHandler } from '../../ledger/commands/commit-reservation/commit-reservation.handler';
import { DepositFundsHandler } from '../../ledger/commands/deposit-funds/deposit-funds.handler';
import { OpenAccountHandler } from '../../ledger/commands/open-account/open-account.handler';
import { ReleaseReservationHandler } from '../../ledger/commands/release-reservation/release-reservation.handler';
import { ReserveFundsHandler } from '../../ledger/commands/reserve-funds/reserve-funds.handler';
import { TransferFundsHandler } from '../../ledger/commands/transfer-funds/transfer-funds.handler';
import { WithdrawFundsHandler } from '../../ledger/commands/withdraw-funds/withdraw-funds.handler';
import type { ReservationState } from '../../ledger/domain/account';
import { CurrencyRegistry } from '../../ledger/domain/currency';
import { LedgerController } from '../../ledger/grpc/ledger.controller';
import { ProtoMapper } from '../../ledger/grpc/to-proto';
import {
  type AccountResult,
  type AccountSnapshot,
  LedgerStore,
  type ReservationResult,
  type TransferResult,
} from '../../ledger/ports/ledger-store';
import type { ScriptName } from '../redis/lua-scripts';
import { LedgerMetrics } from './ledger-metrics';
import { RedisTelemetry } from './redis-telemetry';
import { TimedSteps } from './timed-steps';
import { Tracing } from './tracing';
import { startInMemorySdk } from './in-memory-sdk.test-support';

const ACCOUNT: AccountSnapshot = {
  accountId: 'acct-1',
  currency: 'USD',
  status: 'OPEN',
  balance: 10_000n,
  held: 0n,
  overdraftLimit: 0n,
  version: 1,
  openedAtMs: 1_700_000_000_000,
  metadata: {},
};
const RESERVATION: ReservationState = {
  reservationId: 'res-1',
  accountId: 'acct-1',
  currency: 'USD',
  amount: 100n,
  committed: 0n,
  status: 'ACTIVE',
  orderId: '',
  expiresAtMs: 0,
  accountVersion: 2,
};

/**
 * A store that answers at once but calls "Redis" the way the real one does, through the script
 * observer (so the Redis spans appear where the real ones would).
 */
class ScriptedStore extends LedgerStore {
  constructor(private readonly redis: RedisTelemetry) {
    super();
  }

  private async scripts(...names: ScriptName[]): Promise<void> {
    for (const name of names) {
      const call = this.redis.sent(name);
      await Promise.resolve();
      call.replied(['OK', '{}']);
    }
  }

  private async account(...names: ScriptName[]): Promise<AccountResult> {
    await this.scripts(...names);
    return { account: ACCOUNT, replayed: false, events: [] };
  }

  private async reservation(...names: ScriptName[]): Promise<ReservationResult> {
    await this.scripts(...names);
    return { reservation: RESERVATION, account: ACCOUNT, replayed: false, events: [] };
  }

  openAccount = (): Promise<AccountResult> => this.account('open_account');
  changeStatus = (): Promise<AccountResult> => this.account('change_account_status');
  deposit = (): Promise<AccountResult> => this.account('deposit');
  withdraw = (): Promise<AccountResult> => this.account('withdraw');
  transfer = async (): Promise<TransferResult> => {
    await this.scripts('transfer');
    return { from: ACCOUNT, to: { ...ACCOUNT, accountId: 'acct-2' }, replayed: false, events: [] };
  };
  reserve = (): Promise<ReservationResult> => this.reservation('reserve');
  amend = (): Promise<ReservationResult> => this.reservation('amend_reservation');
  commit = (): Promise<ReservationResult> => this.reservation('commit_reservation');
  release = (): Promise<ReservationResult> => this.reservation('release_reservation');
  getAccount = async (): Promise<AccountSnapshot> => ACCOUNT;
  getReservation = (): Promise<ReservationResult> => this.reservation();
}

const USD = (amount: string) => ({ amount, currency: 'USD' });

/**
 * The span tree of each command through the real controller, handlers and CommandSteps, with
 * the SDK's in-memory exporter and no servers: under the call's span, one span named after the
 * command, with validate, parse-money, the Redis calls and to-response as its children.
 */
describe('span tree of each command (unit, in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let controller: LedgerController;
  let tracing: Tracing;

  beforeAll(() => {
    startInMemorySdk(exporter);
    tracing = new Tracing(trace.getTracer('test'), true);
    const metrics = new LedgerMetrics({ defaultMetrics: false });
    const steps = new TimedSteps(metrics, tracing);
    const store = new ScriptedStore(new RedisTelemetry(metrics, tracing, true));
    const currencies = new CurrencyRegistry();
    const handlers = [
      new OpenAccountHandler(store, currencies, steps),
      new ChangeAccountStatusHandler(store, steps),
      new DepositFundsHandler(store, currencies, steps),
      new WithdrawFundsHandler(store, currencies, steps),
      new TransferFundsHandler(store, currencies, steps),
      new ReserveFundsHandler(store, currencies, steps),
      new AmendReservationHandler(store, currencies, steps),
      new CommitReservationHandler(store, currencies, steps),
      new ReleaseReservationHandler(store, steps),
    ];
    const byCommand = new Map<string, { execute(command: unknown): Promise<unknown> }>(
      handlers.map((h) => [h.constructor.name.replace(/Handler$/, 'Command'), h as never]),
    );
    const commands = {
      execute: (command: object) => byCommand.get(command.constructor.name)!.execute(command),
    } as unknown as CommandBus;
    controller = new LedgerController(commands, {} as QueryBus, new ProtoMapper(currencies), steps);
  });
  beforeEach(() => exporter.reset());

  const cases: [string, (c: LedgerController) => Promise<unknown>, string, string[]][] = [
    [
      'OpenAccount',
      (c) => c.openAccount({ accountId: 'acct-1', currency: 'USD', overdraftLimit: '', metadata: {} }),
      'OpenAccount',
      ['validate', 'parse-money', 'redis.evalsha open_account', 'to-response'],
    ],
    [
      'FreezeAccount',
      (c) => c.freezeAccount({ accountId: 'acct-1', reason: 'x' }),
      'FreezeAccount',
      ['validate', 'redis.evalsha change_account_status', 'to-response'],
    ],
    [
      'UnfreezeAccount',
      (c) => c.unfreezeAccount({ accountId: 'acct-1', reason: 'x' }),
      'UnfreezeAccount',
      ['validate', 'redis.evalsha change_account_status', 'to-response'],
    ],
    [
      'CloseAccount',
      (c) => c.closeAccount({ accountId: 'acct-1', reason: 'x' }),
      'CloseAccount',
      ['validate', 'redis.evalsha change_account_status', 'to-response'],
    ],
    [
      'Deposit',
      (c) => c.deposit({ transactionId: 'tx-1', accountId: 'acct-1', amount: USD('1.00'), metadata: {} }),
      'DepositFunds',
      ['validate', 'parse-money', 'redis.evalsha deposit', 'to-response'],
    ],
    [
      'Withdraw',
      (c) => c.withdraw({ transactionId: 'tx-2', accountId: 'acct-1', amount: USD('1.00'), metadata: {} }),
      'WithdrawFunds',
      ['validate', 'parse-money', 'redis.evalsha withdraw', 'to-response'],
    ],
    [
      'Transfer',
      (c) =>
        c.transfer({
          transactionId: 'tx-3',
          fromAccountId: 'acct-1',
          toAccountId: 'acct-2',
          amount: USD('1.00'),
          metadata: {},
        }),
      'TransferFunds',
      ['validate', 'parse-money', 'redis.evalsha transfer', 'to-response'],
    ],
    [
      'Reserve',
      (c) =>
        c.reserve({ reservationId: 'res-1', accountId: 'acct-1', amount: USD('1.00'), orderId: 'o-1', ttlSeconds: 0 }),
      'ReserveFunds',
      ['validate', 'parse-money', 'redis.evalsha reserve', 'to-response'],
    ],
    [
      'AmendReservation',
      (c) => c.amendReservation({ reservationId: 'res-1', amendId: 'a-1', newAmount: USD('2.00') }),
      'AmendReservation',
      ['validate', 'parse-money', 'redis.evalsha amend_reservation', 'to-response'],
    ],
    [
      'CommitReservation',
      (c) => c.commitReservation({ reservationId: 'res-1', commitId: 'c-1', amount: USD('0.50'), final: false }),
      'CommitReservation',
      ['validate', 'parse-money', 'redis.evalsha commit_reservation', 'to-response'],
    ],
    [
      'ReleaseReservation',
      (c) => c.releaseReservation({ reservationId: 'res-1', reason: 'x' }),
      'ReleaseReservation',
      ['validate', 'redis.evalsha release_reservation', 'to-response'],
    ],
  ];

  it.each(cases)('%s: call span > %s > %j', async (method, call, command, steps) => {
    const server = tracing.tracer.startSpan(`ledger.v1.LedgerService/${method}`, { kind: SpanKind.SERVER });
    await context.with(trace.setSpan(context.active(), server), () => call(controller));
    server.end();
    const spans = exporter.getFinishedSpans();
    const children = (parent: ReadableSpan) =>
      spans
        .filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId)
        .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    const root = spans.find((s) => s.spanContext().spanId === server.spanContext().spanId)!;
    const [commandSpan, ...others] = children(root);
    expect(others).toEqual([]);
    expect(commandSpan?.name).toBe(command);
    expect(commandSpan?.attributes['ledger.command']).toBe(command);
    expect(children(commandSpan!).map((s) => s.name)).toEqual(steps);
    expect(spans.every((s) => s.spanContext().traceId === server.spanContext().traceId)).toBe(true);
    expect(spans).toHaveLength(2 + steps.length);
  });
});
