import { setTimeout as sleep } from 'node:timers/promises';
import type { ProtoMapper } from '../ledger/grpc/to-proto';
import { eventOfRow, type EventRow } from '../infrastructure/postgres/event-rows';
import { compareIdempotency, compareRedis, type RedisAccountRead, type StoredIdempotency } from './account-audit';
import { AccountFold } from './account-fold';
import { CurrencyTotals } from './currency-totals';
import type { Difference } from './differences';
import { type ExpectedRecord, KafkaAudit, type TopicRecord } from './kafka-audit';
import type { AuditPostgres } from './postgres-reader';
import type { AuditRedis } from './redis-reader';

export interface AuditOptions {
  /** also read the topic and check it against the store */
  kafka: boolean;
  /** first wait (at most this long) for the outbox (and, with kafka, the Kafka queue) to drain */
  waitDrainedMs: number;
  /** differences kept in the result (all are counted, and all reach onDifference) */
  maxDifferences: number;
  /** an account that differs while it is still changing is read again, this many times ... */
  recheckTimes: number;
  /** ... this long apart */
  recheckDelayMs: number;
  /** events per Postgres page */
  pageSize: number;
  /** accounts per Redis/Postgres round of lookups */
  groupSize: number;
  onDifference?: (difference: Difference) => void;
}

export const DEFAULT_AUDIT_OPTIONS: AuditOptions = {
  kafka: false,
  waitDrainedMs: 30_000,
  maxDifferences: 1000,
  recheckTimes: 3,
  recheckDelayMs: 500,
  pageSize: 5000,
  groupSize: 200,
};

export interface AuditSummary {
  accounts: number;
  events: number;
  reservations: number;
  idempotencyKeys: number;
  /** accounts Redis does not hold (rebuilt from the store on first use) */
  missingInRedis: number;
  /** accounts read again because they changed during the audit */
  rechecked: number;
  /** events waiting when the audit began, after its wait */
  pendingAtStart: { outbox: number; kafkaQueue: number | undefined };
  kafka: { records: number; duplicates: number } | undefined;
  currencies: { currency: string; accounts: number; balances: string }[];
  differences: number;
  accountsWithDifferences: number;
  seconds: number;
}

export interface AuditResult {
  summary: AuditSummary;
  /** the first maxDifferences */
  differences: Difference[];
}

export interface AuditSources {
  postgres: AuditPostgres;
  redis: AuditRedis;
  /** reads the topic to its current end (see kafka-reader.ts); false when the topic does not exist */
  readTopic?: (onBatch: (records: TopicRecord[]) => Promise<void>) => Promise<boolean>;
  mapper: ProtoMapper;
}

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
    await this.redisKeys();
    await this.storeChecks();
    if (this.options.kafka) await this.kafka();
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

  /** The reverse pass: accounts and reservations Redis holds that the store does not know. */
  private async redisKeys(): Promise<void> {
    const { postgres, redis } = this.sources;
    for await (const batch of redis.scan(1000)) {
      const accounts = batch.filter((k) => k.kind === 'account');
      const reservations = batch.filter((k) => k.kind === 'reservation');
      const [known, owners] = await Promise.all([
        postgres.knownAccounts(accounts.map((k) => k.id)),
        postgres.reservationAccounts(reservations.map((k) => k.id)),
      ]);
      const unknownAccounts = accounts.filter((k) => !known.has(k.id));
      const reservationFields = await redis.fields(
        reservations.map((k) => k.key),
        ['acct'],
      );
      const strays = reservations.filter((k, i) => owners.get(k.id) !== reservationFields[i]?.[0]);
      if (unknownAccounts.length === 0 && strays.length === 0) continue;
      // Opened or reserved a moment ago, not stored yet: look again after the relay's round.
      await sleep(this.options.recheckDelayMs);
      const knownNow = await postgres.knownAccounts(unknownAccounts.map((k) => k.id));
      const ownersNow = await postgres.reservationAccounts(strays.map((k) => k.id));
      for (const k of unknownAccounts) {
        if (knownNow.has(k.id)) continue;
        this.report([
          { account: k.id, field: 'redis.account', detail: `${k.key} is in redis, postgres has no event of it` },
        ]);
      }
      const strayFields = await redis.fields(
        strays.map((k) => k.key),
        ['acct'],
      );
      strays.forEach((k, i) => {
        const inRedis = strayFields[i]?.[0] ?? '(none)';
        const inStore = ownersNow.get(k.id);
        if (inStore === inRedis) return;
        this.report([
          {
            account: inRedis,
            field: `reservations[${k.id}]`,
            detail: inStore
              ? `redis has it on ${inRedis}, postgres on ${inStore}`
              : `in redis (${k.key}), never reserved in postgres`,
          },
        ]);
      });
    }
  }

  /** Whole-store checks Postgres runs: orphan idempotency records, transfer pairs, conflicts. */
  private async storeChecks(): Promise<void> {
    const { postgres } = this.sources;
    for await (const orphans of postgres.orphanIdempotency(this.options.pageSize)) {
      this.report(
        orphans.map((o) => ({
          account: o.accountId,
          field: `idempotency[${o.key}]`,
          detail: o.event
            ? `ledger_idempotency v${o.version} names event ${o.eventId}, which is ${o.event.key} v${o.event.version} of ${o.event.accountId}`
            : `ledger_idempotency v${o.version} names event ${o.eventId}, which is not stored`,
        })),
      );
    }
    for (const t of await postgres.transferProblems(this.options.maxDifferences)) {
      const side = (s: typeof t.debit) =>
        s ? `${s.accountId} -> ${s.counterparty} ${s.amount} ${s.currency}` : 'missing';
      this.report([
        {
          account: t.debit?.accountId ?? t.credit?.accountId ?? '',
          field: `transfer[${t.reference}]`,
          detail: `debit ${side(t.debit)}, credit ${side(t.credit)}`,
        },
      ]);
    }
    for (const c of await postgres.conflicts(this.options.maxDifferences)) {
      this.report([
        {
          account: c.accountId,
          field: 'postgres.conflicts',
          detail: `outbox event ${c.eventId} v${c.version} conflicts with a stored event (ledger_event_conflicts)`,
        },
      ]);
    }
  }

  /** The topic against the store, then every account's stream against its stored version. */
  private async kafka(): Promise<void> {
    const { postgres, readTopic } = this.sources;
    if (!readTopic) throw new Error('a Kafka check was asked for without a topic reader');
    const audit = new KafkaAudit();
    const exists = await readTopic(async (records) => {
      const ids = records.map(KafkaAudit.eventIdOf).filter((id): id is string => id !== undefined);
      const stored = await postgres.eventsById([...new Set(ids)]);
      for (const record of records) {
        const id = KafkaAudit.eventIdOf(record);
        const row = id === undefined ? undefined : stored.get(id);
        let expected: ExpectedRecord | undefined;
        try {
          expected = row && this.expected(row);
        } catch (error) {
          // e.g. a currency this audit's LEDGER_EXTRA_ASSETS does not know
          const detail = `cannot build the expected record: ${error instanceof Error ? error.message : String(error)}`;
          this.report([{ account: row?.account_id ?? record.key, field: `kafka[v${row?.version}]`, detail }]);
          continue;
        }
        this.report(audit.accept(record, expected));
      }
    });
    this.summary.kafka = { records: audit.records, duplicates: audit.duplicates };
    for await (const page of postgres.maxVersions(this.options.pageSize)) {
      const behind = page.filter((a) => audit.lastVersion(a.accountId) < a.version);
      const queued = await postgres.queued(
        behind.map((a) => ({ accountId: a.accountId, version: audit.lastVersion(a.accountId) + 1 })),
      );
      for (const a of behind) {
        const next = audit.lastVersion(a.accountId) + 1;
        this.report(audit.completeness(a.accountId, a.version, queued.has(`${a.accountId}|${next}`)));
      }
    }
    if (!exists && this.summary.events > 0) {
      this.report([
        { account: '(all)', field: 'kafka.topic', detail: 'the topic does not exist; postgres holds events' },
      ]);
    }
  }

  private expected(row: EventRow): ExpectedRecord {
    const event = eventOfRow(row);
    return {
      accountId: event.accountId,
      version: event.version,
      type: event.type,
      traceparent: event.traceparent,
      value: this.sources.mapper.event(event),
    };
  }
}
