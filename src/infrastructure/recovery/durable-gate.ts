import { LedgerError } from '../../ledger/domain/errors';
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
import type { EventStoreProbe } from './event-store-probe';

/**
 * The refusal while the event store is behind: one instance for every refused call, because
 * under overload refusals come by the thousand and each must cost next to nothing (no stack
 * captured and formatted per call); the call's own log line and metrics still name it.
 */
const BEHIND = new LedgerError(
  'DEPENDENCY_UNAVAILABLE',
  'the event store is behind in confirming calls (a call has waited past LEDGER_DURABLE_SHED_AFTER_MS), so this one would not be confirmed in time; nothing was applied, retry with the same id after a backoff',
);

/**
 * Durable mode only, around the acknowledging store: while the event store is unreachable no
 * mutation could be acknowledged, so none is started: it fails at once with
 * DEPENDENCY_UNAVAILABLE and changes nothing (instead of being applied in Redis and failing after
 * the durable-ack timeout). Calls already waiting for their events to be stored when it stops
 * answering fail at once too, as the timeout would have failed them later (their change is in
 * Redis and will be stored: a retry with the same id answers it). Reads go through.
 *
 * The same while the event store is reachable but far behind (the relay cannot keep up, e.g.
 * more calls than this machine can store): once a call has waited `behind.limitMs` for its
 * events, a new mutation would wait longer still and most likely fail at the durable-ack
 * timeout after its change was applied, so it is refused up front and changes nothing. The
 * refused calls' work is not done, the relay catches up, and calls are taken again: the service
 * keeps answering at what it can store instead of applying everything and confirming nothing.
 */
export class DurableGate extends LedgerStore {
  /** rejecters of the mutations under way: bounded by the calls in flight */
  private readonly inFlight = new Set<(error: Error) => void>();

  constructor(
    private readonly live: LedgerStore,
    private readonly probe: EventStoreProbe,
    /** how long the longest-waiting call has waited for its events, and the most taken before refusing */
    private readonly behind: { waitedMs: () => number; limitMs: number } = {
      waitedMs: () => 0,
      limitMs: Number.POSITIVE_INFINITY,
    },
  ) {
    super();
    probe.onUnreachable(() => {
      const waiting = [...this.inFlight];
      this.inFlight.clear();
      for (const reject of waiting) {
        reject(
          new LedgerError(
            'DEPENDENCY_UNAVAILABLE',
            'the event store stopped answering before this call was stored; it may have been applied and will be stored once the event store is back: retry with the same id',
          ),
        );
      }
    });
  }

  private open<T>(work: () => Promise<T>): Promise<T> {
    if (!this.probe.reachable) {
      return Promise.reject(
        new LedgerError(
          'DEPENDENCY_UNAVAILABLE',
          'the event store is unreachable, so no call can be made durable; nothing was applied, retry with the same id',
        ),
      );
    }
    if (this.behind.waitedMs() > this.behind.limitMs) return Promise.reject(BEHIND);
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject);
      work()
        .then(resolve, reject)
        .finally(() => this.inFlight.delete(reject));
    });
  }

  openAccount(input: OpenAccountInput, ctx: CallContext): Promise<AccountResult> {
    return this.open(() => this.live.openAccount(input, ctx));
  }

  changeStatus(accountId: string, target: StatusTarget, reason: string, ctx: CallContext): Promise<AccountResult> {
    return this.open(() => this.live.changeStatus(accountId, target, reason, ctx));
  }

  deposit(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.open(() => this.live.deposit(input, ctx));
  }

  withdraw(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.open(() => this.live.withdraw(input, ctx));
  }

  transfer(input: TransferInput, ctx: CallContext): Promise<TransferResult> {
    return this.open(() => this.live.transfer(input, ctx));
  }

  reserve(input: ReserveInput, ctx: CallContext): Promise<ReservationResult> {
    return this.open(() => this.live.reserve(input, ctx));
  }

  amend(input: AmendInput, ctx: CallContext): Promise<ReservationResult> {
    return this.open(() => this.live.amend(input, ctx));
  }

  commit(input: CommitInput, ctx: CallContext): Promise<ReservationResult> {
    return this.open(() => this.live.commit(input, ctx));
  }

  release(input: ReleaseInput, ctx: CallContext): Promise<ReservationResult> {
    return this.open(() => this.live.release(input, ctx));
  }

  getAccount(accountId: string): Promise<AccountSnapshot> {
    return this.live.getAccount(accountId);
  }

  getReservation(reservationId: string): Promise<ReservationResult> {
    return this.live.getReservation(reservationId);
  }
}
