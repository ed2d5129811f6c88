import { setTimeout as sleep } from 'node:timers/promises';
import { eventOfRow, type EventRow } from '../infrastructure/postgres/event-rows';
import { compareIdempotency, compareRedis, type RedisAccountRead, type StoredIdempotency } from './account-audit';
import { AccountFold } from './account-fold';
import { type AuditOptions, type AuditSources, DEFAULT_AUDIT_OPTIONS } from './audit-options';
import type { AuditResult, AuditSummary } from './audit-result';
import { CurrencyTotals } from './currency-totals';
import type { Difference, ReportDifferences } from './differences';
import { checkKafka } from './kafka-check';
import { checkRedisKeys } from './redis-key-check';
import { checkStore } from './store-checks';

/** Bound on the distinct accounts remembered for the summary's count (the count saturates there). */
const DIFFERENT_ACCOUNTS_MAX = 100_000;

/**
 * `npm run audit`: for every account, the fold of its Postgres events against what Redis holds
 * and (optionally) against the Kafka topic; gapless versions, snapshots, idempotency records,
 * held = sum of the active remainders, per-currency conservation, transfer pairs. It streams:
 * events page by page in (account, version) order, lookups a group of accounts at a time, Redis
 * keys by SCAN, the topic batch by batch; memory is one account's history plus fixed-size
 * pages, plus one number per account for the Kafka order check.
 */
export class LedgerAudit {
  private readonly options: AuditOptions;
  private readonly totals = new CurrencyTotals();
  private readonly kept: Difference[] = [];
  private readonly differentAccounts = new Set<string>();
  private count = 0;
  private readonly summary: Omit<AuditSummary, 'differences' | 'accountsWithDifferences' | 'seconds' | 'currencies'> = {
    accounts: 0,
    events: 0,
    reservations: 0,
    idempotencyKeys: 0,
    missingInRedis: 0,
    rechecked: 0,
    pendingAtStart: { outbox: 0, kafkaQueue: undefined },
    kafka: undefined,
  };

  constructor(
    private readonly sources: AuditSources,
    options: Partial<AuditOptions> = {},
  ) {
    this.options = { ...DEFAULT_AUDIT_OPTIONS, ...options };
  }

  private report(differences: readonly Difference[]): void {
    for (const d of differences) {
      this.count++;
      if (this.kept.length < this.options.maxDifferences) this.kept.push(d);
      if (this.differentAccounts.size < DIFFERENT_ACCOUNTS_MAX) this.differentAccounts.add(d.account);
      this.options.onDifference?.(d);
    }
  }

  async run(): Promise<AuditResult> {
    const started = Date.now();
    await this.waitDrained();
    await this.accounts();
    const report: ReportDifferences = (differences) => this.report(differences);
    await checkRedisKeys(this.sources, this.options, report);
    await checkStore(this.sources, this.options, report);
    if (this.options.kafka) {
      this.summary.kafka = await checkKafka(this.sources, this.options, report, this.summary.events);
    }
    this.report(this.totals.check());
    return {
      summary: {
        ...this.summary,
        currencies: this.totals.summary(),
        differences: this.count,
        accountsWithDifferences: this.differentAccounts.size,
        seconds: (Date.now() - started) / 1000,
      },
      differences: this.kept,
    };
  }

  private async waitDrained(): Promise<void> {
    const { postgres, redis } = this.sources;
    const deadline = Date.now() + this.options.waitDrainedMs;
    for (;;) {
      const outbox = await redis.outboxBacklog();
      const kafkaQueue = this.options.kafka ? await postgres.kafkaBacklog() : undefined;
      this.summary.pendingAtStart = { outbox, kafkaQueue };
      if ((outbox === 0 && !kafkaQueue) || Date.now() >= deadline) return;
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
  }

  /** The forward pass: every stored account, folded, against Redis and its idempotency records. */
  private async accounts(): Promise<void> {
    let fold: AccountFold | undefined;
    let group: AccountFold[] = [];
    const finish = async (done: AccountFold, last: boolean): Promise<void> => {
      done.finish();
      group.push(done);
      if (group.length >= this.options.groupSize || last) {
        await this.checkGroup(group);
        group = [];
      }
    };
    for await (const page of this.sources.postgres.eventPages(this.options.pageSize)) {
      const snapshots = await this.sources.postgres.snapshots([...new Set(page.map((r) => r.account_id))]);
      let previous = '';
      for (const row of page) {
        if (fold?.accountId !== row.account_id) {
          if (fold) await finish(fold, false);
          fold = new AccountFold(row.account_id);
        }
        // First row of this account in this page: its snapshots (an account may span pages).
        if (row.account_id !== previous) for (const s of snapshots.get(row.account_id) ?? []) fold.expectSnapshot(s);
        previous = row.account_id;
        this.addRow(fold, row, true);
      }
    }
    if (fold) await finish(fold, true);
  }

  private addRow(fold: AccountFold, row: EventRow, count: boolean): void {
    let event;
    try {
      event = eventOfRow(row);
    } catch (error) {
      fold.events++;
      fold.fail(`postgres.events[v${row.version}]`, error instanceof Error ? error.message : String(error));
      return;
    }
    fold.add(event);
    if (count) {
      this.summary.events++;
      this.totals.addEvent(event);
    }
  }

  private async lookups(
    folds: readonly AccountFold[],
  ): Promise<{ reads: Map<string, RedisAccountRead>; rows: Map<string, Map<string, StoredIdempotency>> }> {
    const usable = folds.filter((f) => f.usable);
    const pairs = usable.flatMap((f) => [...f.keys.keys()].map((key) => ({ key, accountId: f.accountId })));
    const [reads, rows] = await Promise.all([
      this.sources.redis.read(usable),
      this.sources.postgres.idempotency(pairs),
    ]);
    return { reads, rows };
  }

  private compare(
    fold: AccountFold,
    reads: Map<string, RedisAccountRead>,
    rows: Map<string, Map<string, StoredIdempotency>>,
  ): {
    differences: Difference[];
    redisVersion: number | undefined;
    missing: boolean;
    redisBalance: bigint | undefined;
  } {
    const differences = [...fold.differences];
    const read = reads.get(fold.accountId);
    if (!fold.usable || !read) return { differences, redisVersion: undefined, missing: false, redisBalance: undefined };
    const redis = compareRedis(fold, read);
    differences.push(...redis.differences, ...compareIdempotency(fold, rows.get(fold.accountId) ?? new Map(), read));
    const balance = read.account['bal'];
    return {
      differences,
      redisVersion: redis.version,
      missing: redis.missing,
      redisBalance: redis.missing || balance === undefined || !/^-?[0-9]+$/.test(balance) ? undefined : BigInt(balance),
    };
  }

  private async checkGroup(group: readonly AccountFold[]): Promise<void> {
    const { reads, rows } = await this.lookups(group);
    for (const fold of group) {
      this.summary.accounts++;
      this.summary.idempotencyKeys += fold.keys.size;
      this.summary.reservations += fold.state?.reservations.size ?? 0;
      let result = this.compare(fold, reads, rows);
      // Redis ahead of (or behind) the store while calls go on: read the account again.
      if (result.differences.length > 0 && fold.usable && result.redisVersion !== fold.state?.version) {
        result = await this.recheck(fold.accountId, result);
      }
      if (result.missing) this.summary.missingInRedis++;
      if (fold.state) {
        const consistent = result.redisVersion === fold.state.version;
        this.totals.addAccount(fold.state, consistent ? result.redisBalance : undefined);
      }
      this.report(result.differences);
    }
  }

  private async recheck(
    accountId: string,
    first: ReturnType<LedgerAudit['compare']>,
  ): Promise<ReturnType<LedgerAudit['compare']>> {
    this.summary.rechecked++;
    let result = first;
    for (let i = 0; i < this.options.recheckTimes; i++) {
      await sleep(this.options.recheckDelayMs);
      const fold = new AccountFold(accountId);
      const snapshots = (await this.sources.postgres.snapshots([accountId])).get(accountId) ?? [];
      for (const s of snapshots) fold.expectSnapshot(s);
      for await (const page of this.sources.postgres.accountEventPages(accountId, this.options.pageSize)) {
        for (const row of page) this.addRow(fold, row, false);
      }
      fold.finish();
      const { reads, rows } = await this.lookups([fold]);
      result = this.compare(fold, reads, rows);
      if (result.differences.length === 0 || result.redisVersion === fold.state?.version) return result;
    }
    const note = `(still changing after ${this.options.recheckTimes} re-reads; run the audit on a quiet store)`;
    return { ...result, differences: result.differences.map((d) => ({ ...d, detail: `${d.detail} ${note}` })) };
  }
}
