import {
  type AccountResult,
  type AccountSnapshot,
  type AmendInput,
  type CallContext,
  type CommitInput,
  LedgerStore,
  type MovementInput,
  type OpenAccountInput,
  type ReleaseInput,
  type ReservationResult,
  type ReserveInput,
  type StatusTarget,
  type TransferInput,
  type TransferResult,
} from '../../ledger/ports/ledger-store';
import type { DurabilityWaiter, DurableWait } from './durability-waiter';

export type AckMode = 'durable' | 'fast';

export interface AckObserver {
  /** every acknowledgement, with its mode and how long it waited after Redis applied the call */
  acknowledged(mode: AckMode, seconds: number): void;
  /**
   * Runs one call's durable wait (e.g. inside a span under the command span, linked to the relay
   * batches `wait` reports).
   */
  traced(events: number, wait: () => Promise<DurableWait>): Promise<DurableWait>;
}

const UNOBSERVED: AckObserver = { acknowledged: () => undefined, traced: (_events, wait) => wait() };

/**
 * When a mutating call is answered (LEDGER_ACK_MODE):
 * - durable (default): only once Postgres holds the events the call appended; replays too
 *   (they wait for the original's events, which may still be in flight);
 * - fast: as soon as Redis applied it (the relay stores it moments later).
 * Every acknowledgement is reported with its mode and wait, so the mode shows in the metrics,
 * and a durable wait is traced (the span names the relay batch that committed the call).
 * Reads are not held back.
 */
export class AcknowledgingLedgerStore extends LedgerStore {
  constructor(
    private readonly live: LedgerStore,
    private readonly mode: AckMode,
    private readonly durability: DurabilityWaiter,
    private readonly observer: AckObserver = UNOBSERVED,
    /** epoch ms of the current call's deadline (Infinity: none): a durable wait stops there */
    private readonly callerDeadlineMs: () => number = () => Number.POSITIVE_INFINITY,
  ) {
    super();
  }

  private async acknowledge(result: { events: readonly string[] }): Promise<void> {
    if (this.mode === 'fast') {
      this.observer.acknowledged('fast', 0);
      return;
    }
    const start = process.hrtime.bigint();
    const until = this.callerDeadlineMs();
    await this.observer.traced(result.events.length, () => this.durability.waitFor(result.events, until));
    this.observer.acknowledged('durable', Number(process.hrtime.bigint() - start) / 1e9);
  }

  private async account<T extends AccountResult>(result: Promise<T>): Promise<T> {
    const r = await result;
    await this.acknowledge(r);
    return r;
  }

  private async reservation(result: Promise<ReservationResult>): Promise<ReservationResult> {
    const r = await result;
    await this.acknowledge(r);
    return r;
  }

  openAccount(input: OpenAccountInput, ctx: CallContext): Promise<AccountResult> {
    return this.account(this.live.openAccount(input, ctx));
  }

  changeStatus(accountId: string, target: StatusTarget, reason: string, ctx: CallContext): Promise<AccountResult> {
    return this.account(this.live.changeStatus(accountId, target, reason, ctx));
  }

  deposit(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.account(this.live.deposit(input, ctx));
  }

  withdraw(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.account(this.live.withdraw(input, ctx));
  }

  async transfer(input: TransferInput, ctx: CallContext): Promise<TransferResult> {
    const r = await this.live.transfer(input, ctx);
    await this.acknowledge(r);
    return r;
  }

  reserve(input: ReserveInput, ctx: CallContext): Promise<ReservationResult> {
    return this.reservation(this.live.reserve(input, ctx));
  }

  amend(input: AmendInput, ctx: CallContext): Promise<ReservationResult> {
    return this.reservation(this.live.amend(input, ctx));
  }

  commit(input: CommitInput, ctx: CallContext): Promise<ReservationResult> {
    return this.reservation(this.live.commit(input, ctx));
  }

  release(input: ReleaseInput, ctx: CallContext): Promise<ReservationResult> {
    return this.reservation(this.live.release(input, ctx));
  }

  getAccount(accountId: string): Promise<AccountSnapshot> {
    return this.live.getAccount(accountId);
  }

  getReservation(reservationId: string): Promise<ReservationResult> {
    return this.live.getReservation(reservationId);
  }
}
