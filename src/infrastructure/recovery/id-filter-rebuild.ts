import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import type { LedgerConfig } from '../../config/config';
import { type IdFilterOptions, idFilterBits, idFilterSlot } from '../redis/id-filter';
import { RedisKeys } from '../redis/redis-keys';

export interface IdFilterRebuildOptions extends IdFilterOptions {
  buckets: number;
  /** how often every bucket's ready marker is checked (a flush removes them) */
  checkIntervalMs: number;
  /** rows read from Postgres, or entries from an outbox stream, per round trip */
  pageSize: number;
  /**
   * Rows recorded this long before the rebuild started are read again at its end: a relay
   * transaction that began before the first read and committed after it (bounded by the
   * statement timeouts) is not in that read's snapshot.
   */
  lateCommitMarginMs: number;
}

/** The rebuild's settings for a configuration (the service and `npm run rebuild-redis` alike). */
export function idFilterRebuildOptions(config: LedgerConfig): IdFilterRebuildOptions {
  return {
    buckets: config.ledger.buckets,
    idFilterBits: config.ledger.idFilterBits,
    idFilterHashes: config.ledger.idFilterHashes,
    checkIntervalMs: 2000,
    pageSize: 5000,
    // Well above a relay transaction: a few statements, each bounded by the statement timeout.
    lateCommitMarginMs: 60_000 + 4 * config.postgres.statementTimeoutMs,
  };
}

export interface IdFilterRebuildObserver {
  rebuilt(ids: number, seconds: number): void;
  failed(error: unknown): void;
}

const LOCK_KEY = 'ledger:{idfilter}:rebuild';
// Short, and renewed every page: an instance killed mid-rebuild holds the others up this long at most.
const LOCK_MS = 15_000;

/** Renews the rebuild lock if this rebuild still holds it; 0 if it was lost (e.g. a flush). */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/** Marks every bucket ready, only if the lock (and so the bits written meanwhile) survived. */
const FINISH = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[2]) end
redis.call('DEL', KEYS[1])
return 1`;

/**
 * Rebuilds the id filters (lua/lib/idempotent.lua) when Redis does not hold them: at first start,
 * after an upgrade, after Redis lost its data. Until a bucket's filter is marked ready, every new
 * id of it is looked up in the event store (correct, slower). Completeness argument: every id the
 * event store holds was either (1) committed before the first read below (read there), (2)
 * committed by a relay transaction that overlapped that read (read again by the late-commit pass),
 * (3) waiting in an outbox stream (read there), or (4) applied by a script after this rebuild
 * started (which set its bits itself). Losing Redis meanwhile also loses the lock, and then the
 * buckets are not marked ready.
 */
export class IdFilterRebuild {
  private readonly keys: RedisKeys;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    /** a connection of its own (closed by stop): the rebuild's pipelines must not queue ahead of the hot path */
    private readonly redis: Redis,
    private readonly db: DataSource,
    private readonly options: IdFilterRebuildOptions,
    private readonly observer: IdFilterRebuildObserver,
  ) {
    this.keys = new RedisKeys(options.buckets);
  }

  /**
   * Checks now and then every checkIntervalMs. Resolves when the first check is done or after
   * `firstWaitMs`, whichever comes first: a small store is ready before the first call, a large
   * one keeps rebuilding in the background (calls meanwhile pay an event store lookup).
   */
  async start(firstWaitMs: number): Promise<void> {
    if (this.timer) return;
    // Its errors reach the observer through the commands; ioredis would print them otherwise.
    this.redis.on('error', () => undefined);
    if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
    const tick = (): Promise<void> =>
      (this.running ??= this.rebuildIfNeeded()
        .then(() => undefined)
        .catch((error: unknown) => this.observer.failed(error))
        .finally(() => (this.running = undefined)));
    this.timer = setInterval(() => void tick(), this.options.checkIntervalMs);
    this.timer.unref();
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([tick(), new Promise((resolve) => (waited = setTimeout(resolve, firstWaitMs)))]);
    clearTimeout(waited);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    this.redis.disconnect();
  }

  private readyKeys(): string[] {
    return Array.from({ length: this.options.buckets }, (_, b) => this.keys.idFilterReadyOfBucket(b));
  }

  /** Rebuilds unless every bucket is ready or another instance is at it; true if it rebuilt. */
  async rebuildIfNeeded(): Promise<boolean> {
    const ready = this.readyKeys();
    if ((await this.redis.exists(...ready)) === ready.length) return false;
    const token = randomUUID();
    if ((await this.redis.set(LOCK_KEY, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return false;
    const started = Date.now();
    let ids = await this.addStored(token, undefined);
    ids += await this.addOutboxes(token);
    ids += await this.addStored(token, new Date(started - this.options.lateCommitMarginMs));
    const done = await this.redis.eval(FINISH, ready.length + 1, LOCK_KEY, ...ready, token, String(Date.now()));
    if (done !== 1) throw new Error('id filter rebuild lost its lock (Redis flushed meanwhile?); retrying');
    this.observer.rebuilt(ids, (Date.now() - started) / 1000);
    return true;
  }

  private async renew(token: string): Promise<void> {
    if ((await this.redis.eval(RENEW, 1, LOCK_KEY, token, String(LOCK_MS))) !== 1) {
      throw new Error('id filter rebuild lost its lock (Redis flushed meanwhile?); retrying');
    }
  }

  private async addIds(rows: readonly { key: string; accountId: string }[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const row of rows) {
      const slot = idFilterSlot(this.keys, row.key, row.accountId);
      const ops = idFilterBits(row.key, this.options).flatMap((bit) => ['SET', 'u1', bit, '1']);
      pipeline.call('BITFIELD', slot.filterKey, ...ops);
    }
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0] as Error;
  }

  /** Every idempotency key of the event store (or those recorded since `since`), page by page. */
  private async addStored(token: string, since: Date | undefined): Promise<number> {
    let count = 0;
    let after: [string, string] = ['', ''];
    for (;;) {
      const rows = (await this.db.query(
        `SELECT idempotency_key, account_id FROM ledger_idempotency
          WHERE (idempotency_key, account_id) > ($1, $2) AND ($3::timestamptz IS NULL OR recorded_at >= $3)
          ORDER BY idempotency_key, account_id LIMIT $4`,
        [after[0], after[1], since ?? null, this.options.pageSize],
      )) as { idempotency_key: string; account_id: string }[];
      await this.addIds(rows.map((r) => ({ key: r.idempotency_key, accountId: r.account_id })));
      count += rows.length;
      const last = rows[rows.length - 1];
      if (!last || rows.length < this.options.pageSize) return count;
      after = [last.idempotency_key, last.account_id];
      await this.renew(token);
    }
  }

  /** The ids of events still waiting in the outbox streams (not in the event store yet). */
  private async addOutboxes(token: string): Promise<number> {
    let count = 0;
    for (let bucket = 0; bucket < this.options.buckets; bucket++) {
      let start = '-';
      for (;;) {
        const entries = await this.redis.xrange(
          this.keys.outboxOfBucket(bucket),
          start,
          '+',
          'COUNT',
          this.options.pageSize,
        );
        const rows = entries.flatMap(([, fields]) => {
          const key = fieldOf(fields, 'ikey');
          const accountId = fieldOf(fields, 'acct');
          return key && accountId ? [{ key, accountId }] : [];
        });
        await this.addIds(rows);
        count += rows.length;
        const last = entries[entries.length - 1];
        if (!last || entries.length < this.options.pageSize) break;
        start = `(${last[0]}`;
        await this.renew(token);
      }
    }
    return count;
  }
}

function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
