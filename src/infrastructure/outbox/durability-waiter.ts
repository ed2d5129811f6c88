import { setTimeout as sleep } from 'node:timers/promises';
import { LedgerError } from '../../ledger/domain/errors';
import { BoundedCache } from '../redis/bounded-cache';

export interface AccountVersion {
  accountId: string;
  version: number;
}

interface Waiter {
  version: number;
  resolve: () => void;
}

export interface DurabilityWaiterOptions {
  timeoutMs: number;
  /** while waiting, ask Postgres this often (a lost notification costs at most this much) */
  pollMs: number;
  /** bound on calls waiting at once; past it new calls get OVERLOADED */
  waitersMax: number;
  /** bound on accounts whose durable head is remembered */
  headsMax: number;
}

/**
 * Durable acknowledgements: a mutating call is answered only once Postgres holds its account's
 * events up to the version the call produced. Versions are gapless and stored in order, so
 * "the stored head of the account >= v" means every event up to v is durable. The relay reports
 * heads as it commits (in this process directly, from other instances over Redis pub/sub); a
 * waiter also polls Postgres, so a lost notification delays a call but never hangs it.
 */
export class DurabilityWaiter {
  private readonly heads: BoundedCache<string, number>;
  private readonly waiters = new Map<string, Waiter[]>();
  private waiting = 0;

  constructor(
    private readonly options: DurabilityWaiterOptions,
    private readonly storedHead: (accountId: string) => Promise<number>,
    private readonly observe: (seconds: number, outcome: 'durable' | 'timeout') => void = () => undefined,
  ) {
    this.heads = new BoundedCache(options.headsMax);
  }

  /** The relay stored events: wake the calls waiting for them. */
  onStored(heads: ReadonlyMap<string, number>): void {
    for (const [accountId, version] of heads) {
      if ((this.heads.get(accountId) ?? 0) < version) this.heads.set(accountId, version);
      const list = this.waiters.get(accountId);
      if (!list) continue;
      const still = list.filter((w) => {
        if (w.version > version) return true;
        w.resolve();
        return false;
      });
      if (still.length > 0) this.waiters.set(accountId, still);
      else this.waiters.delete(accountId);
    }
  }

  async waitFor(targets: readonly AccountVersion[]): Promise<void> {
    const start = process.hrtime.bigint();
    const deadline = Date.now() + this.options.timeoutMs;
    try {
      for (const target of targets) await this.waitForOne(target, deadline);
      this.observe(Number(process.hrtime.bigint() - start) / 1e9, 'durable');
    } catch (error) {
      this.observe(Number(process.hrtime.bigint() - start) / 1e9, 'timeout');
      throw error;
    }
  }

  private isDurable(target: AccountVersion): boolean {
    return (this.heads.get(target.accountId) ?? 0) >= target.version;
  }

  private async waitForOne(target: AccountVersion, deadline: number): Promise<void> {
    if (this.isDurable(target)) return;
    if (this.waiting >= this.options.waitersMax) {
      throw new LedgerError('OVERLOADED', 'too many calls waiting for durability; retry with the same id');
    }
    this.waiting++;
    let waiter: Waiter | undefined;
    try {
      const notified = new Promise<void>((resolve) => {
        waiter = { version: target.version, resolve };
        const list = this.waiters.get(target.accountId) ?? [];
        list.push(waiter);
        this.waiters.set(target.accountId, list);
      });
      let done = false;
      void notified.then(() => {
        done = true;
      });
      while (!done) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await Promise.race([notified, sleep(Math.min(left, this.options.pollMs))]);
        if (done) return;
        const head = await this.storedHead(target.accountId).catch(() => 0);
        if (head >= target.version) {
          this.onStored(new Map([[target.accountId, head]]));
          return;
        }
      }
      if (!done) {
        throw new LedgerError(
          'DEPENDENCY_UNAVAILABLE',
          `event store has not confirmed ${target.accountId} v${target.version} within ${this.options.timeoutMs} ms; retry with the same id`,
        );
      }
    } finally {
      this.waiting--;
      const list = this.waiters.get(target.accountId);
      if (list && waiter) {
        const rest = list.filter((w) => w !== waiter);
        if (rest.length > 0) this.waiters.set(target.accountId, rest);
        else this.waiters.delete(target.accountId);
      }
    }
  }
}
