import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerClient } from '../../support/ledger-client';
import { type Op, type Outcome, Workload, type WorkloadAccount } from '../../support/workload';

/**
 * Contract reasons a client retries with the same ids (the change may or may not have been
 * applied). A failure without a reason (connection refused, deadline, cancelled) is retried too;
 * any other reason is final.
 */
export const RETRIABLE_REASONS: ReadonlySet<string> = new Set(['DEPENDENCY_UNAVAILABLE', 'OVERLOADED']);

/** One client operation and every attempt made for it (same ids each time). */
export interface OpRecord {
  op: Op;
  attempts: Outcome[];
  /** ok: answered (first time or as a replay); rejected: a final reject; failed: still failing at the end */
  final: 'ok' | 'rejected' | 'failed' | 'running';
}

export interface LoadOptions {
  accounts: readonly WorkloadAccount[];
  seed: number;
  /** calls started per second (open loop: not slowed down by slow replies) */
  ratePerSecond: number;
  /** bound on operations in flight; a tick past it is skipped (and counted) */
  inFlightMax: number;
  /** client deadline per attempt */
  callTimeoutMs: number;
}

/**
 * Open-loop load at a fixed rate: each tick starts the Workload's next operation (mixed RPCs,
 * deliberate replays of earlier successes), and an operation that fails with anything but a
 * business reject is retried with the same ids (capped exponential backoff), as the contract asks
 * of clients, until it is answered, rejected, or the driver gives up at its deadline.
 */
export class LoadDriver {
  readonly ops: OpRecord[] = [];
  skipped = 0;
  private readonly workload: Workload;
  private ticker: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private chains: Promise<void>[] = [];
  private giveUpAt = Number.POSITIVE_INFINITY;

  constructor(
    client: () => LedgerClient,
    private readonly options: LoadOptions,
  ) {
    // The service is restarted during the run: every call goes to the client of the moment.
    const current = { call: (...args: Parameters<LedgerClient['call']>) => client().call(...args) };
    this.workload = new Workload(current as LedgerClient, {
      accounts: options.accounts,
      seed: options.seed,
      concurrency: 1,
      timeoutMs: options.callTimeoutMs,
    });
  }

  start(): void {
    this.ticker = setInterval(() => {
      if (this.inFlight >= this.options.inFlightMax) {
        this.skipped++;
        return;
      }
      const record: OpRecord = { op: this.workload.next(), attempts: [], final: 'running' };
      this.ops.push(record);
      this.chains.push(this.chain(record));
    }, 1000 / this.options.ratePerSecond);
  }

  /** Stops starting operations; retries go on until `drainMs` from now, then the rest count as failed. */
  async stop(drainMs: number): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.giveUpAt = Date.now() + drainMs;
    await Promise.all(this.chains);
  }

  private async chain(record: OpRecord): Promise<void> {
    this.inFlight++;
    try {
      for (let attempt = 0; ; attempt++) {
        const outcome = await this.workload.execute(record.op);
        record.attempts.push(outcome);
        if (outcome.reply) {
          record.final = 'ok';
          return;
        }
        const reason = outcome.error?.reason;
        if (reason !== undefined && !RETRIABLE_REASONS.has(reason)) {
          record.final = 'rejected';
          return;
        }
        if (Date.now() > this.giveUpAt) {
          record.final = 'failed';
          return;
        }
        await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
      }
    } finally {
      this.inFlight--;
    }
  }
}
