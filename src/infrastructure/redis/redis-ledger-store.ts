import { createHash, randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { CurrencyRegistry } from '../../ledger/domain/currency';
import { LedgerError } from '../../ledger/domain/errors';
import { formatMinor } from '../../ledger/domain/money';
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
import { guardPostgres } from '../postgres/postgres-errors';
import type { AccountRecovery, PriorOutcome } from '../recovery/account-recovery';
import { BoundedCache } from './bounded-cache';
import type { IdFilterOptions } from './id-filter';
import { type IdempotentTarget, PriorCheckNeeded, idempotentArgs, idempotentKeys } from './idempotent-call';
import type { LuaScripts, ScriptName } from './lua-scripts';
import { RedisKeys } from './redis-keys';
import { guardRedis } from './redis-errors';
import { type AppliedReply, interpretReply, toAccount, toReservation } from './script-replies';
import { StoredAnswers } from './stored-answers';

/** The events a durable acknowledgement of this reply waits for (see PendingEvents). */
function pendingEvents(reply: AppliedReply): string[] {
  return Array.isArray(reply.body.ev) ? reply.body.ev : [];
}

/** An id scoped to a reservation (commit_id, amend_id), unambiguous whatever characters both hold. */
function scopedId(reservationId: string, id: string): string {
  return `${reservationId.length}:${reservationId}:${id}`;
}

export interface RedisLedgerStoreOptions extends IdFilterOptions {
  buckets: number;
  idempotencyRetentionSeconds: number;
  outboxMaxPerBucket: number;
  reservationLocationCacheMax: number;
}

/** A stable digest of a call's parameters: the same id with other parameters is a conflict. */
function parameterHash(kind: string, params: Record<string, unknown>): string {
  const canonical = JSON.stringify([kind, params], (_, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return value;
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

function metadataJson(metadata: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/**
 * The ledger's live state in Redis: every mutation is one Lua script (lua/), atomic, idempotent
 * and appending its events to the bucket's outbox stream in the same step. Scripts keyed by a
 * client id run wrapped in lua/lib/idempotent.lua (id claim + id filter + the step, one round
 * trip); only an id the filter cannot rule out costs an event store lookup (`once`).
 */
export class RedisLedgerStore extends LedgerStore {
  private readonly keys: RedisKeys;
  /** reservation_id -> account_id never changes once claimed, so caching it is always safe. */
  private readonly reservationAccounts: BoundedCache<string, string>;
  private readonly stored: StoredAnswers | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly scripts: LuaScripts,
    private readonly currencies: CurrencyRegistry,
    private readonly options: RedisLedgerStoreOptions,
    /** the event store behind Redis: rebuilds missing accounts, answers old replays */
    private readonly recovery?: AccountRecovery,
  ) {
    super();
    this.keys = new RedisKeys(options.buckets);
    this.reservationAccounts = new BoundedCache(options.reservationLocationCacheMax);
    this.stored = recovery ? new StoredAnswers(recovery) : undefined;
  }

  private commonArgs(ctx: CallContext): (string | number)[] {
    return [ctx.traceparent, this.options.idempotencyRetentionSeconds, this.options.outboxMaxPerBucket];
  }

  private readonly renderMoney = (minor: bigint, currency: string): string =>
    this.currencies.has(currency)
      ? `${formatMinor(minor, this.currencies.scaleOf(currency))} ${currency}`
      : `${minor} minor units of ${currency}`;

  private async apply(name: ScriptName, keys: string[], args: (string | number)[]): Promise<AppliedReply> {
    const raw = await guardRedis(this.scripts.run(name, keys, args));
    if (Array.isArray(raw) && raw[0] === 'CHECK_PRIOR') throw new PriorCheckNeeded();
    return interpretReply(raw, this.renderMoney);
  }

  /**
   * Runs a wrapped script (lua/lib/idempotent.lua) once for its id. If the id filter cannot rule
   * the id out, asks the event store: a stored outcome is answered by `fromStore` (undefined: let
   * Redis answer after all), otherwise the script runs again, told that the store has no record.
   */
  private async once<T>(
    name: ScriptName,
    target: IdempotentTarget,
    keys: string[],
    args: (string | number)[],
    fromStore: (prior: PriorOutcome) => Promise<T | undefined>,
    toResult: (reply: AppliedReply) => T,
  ): Promise<T> {
    const allKeys = [...keys, ...idempotentKeys(this.keys, target)];
    const run = (priorChecked: boolean): Promise<AppliedReply> =>
      this.apply(name, allKeys, [...args, ...idempotentArgs(target, priorChecked, this.options)]);
    try {
      return toResult(await run(false));
    } catch (error) {
      if (!(error instanceof PriorCheckNeeded)) throw error;
    }
    const prior = this.stored ? await this.stored.prior(target.idempotencyKey) : undefined;
    if (prior) {
      const answer = await fromStore(prior);
      if (answer !== undefined) return answer;
    }
    return toResult(await run(true));
  }

  private claimTarget(kind: 'tx' | 'res', id: string, accountId: string, recordKey: string): IdempotentTarget {
    const ttlSeconds = kind === 'tx' ? this.options.idempotencyRetentionSeconds : 0;
    return { idempotencyKey: `${kind}:${id}`, accountId, recordKey, claim: { kind, id, ttlSeconds } };
  }

  /** Binds a reservation id to its account again after Redis lost the claim (claim.lua). */
  private async rebindReservation(reservationId: string, accountId: string): Promise<void> {
    const owner = `res|${accountId}|`;
    const key = this.keys.claim('res', reservationId);
    const [bound] = (await guardRedis(this.scripts.run('claim', [key], [owner, randomUUID().slice(0, 8), 0]))) as [
      string,
      number,
    ];
    if (bound !== owner) {
      throw new LedgerError('IDEMPOTENCY_CONFLICT', `id ${reservationId} was already used on another account`);
    }
  }

  private async accountOfReservation(reservationId: string): Promise<string> {
    const cached = this.reservationAccounts.get(reservationId);
    if (cached !== undefined) return cached;
    const value = await guardRedis(this.redis.get(this.keys.claim('res', reservationId)));
    // "res|<account_id>|<nonce>"
    let accountId = value?.split('|')[1];
    if (accountId === undefined && this.recovery) {
      // Redis lost the claim: the event store knows which account holds the reservation.
      accountId = await guardPostgres(this.recovery.accountOfReservation(reservationId));
      if (accountId !== undefined) await this.rebindReservation(reservationId, accountId);
    }
    if (accountId === undefined)
      throw new LedgerError('RESERVATION_NOT_FOUND', `reservation ${reservationId} does not exist`);
    this.reservationAccounts.set(reservationId, accountId);
    return accountId;
  }

  private accountResult(reply: AppliedReply): AccountResult {
    return { account: toAccount(reply.body.account), replayed: reply.replayed, events: pendingEvents(reply) };
  }

  private reservationResult(reply: AppliedReply): ReservationResult {
    if (!reply.body.reservation) throw new Error('script reply without reservation');
    return {
      reservation: toReservation(reply.body.reservation),
      account: toAccount(reply.body.account),
      replayed: reply.replayed,
      events: pendingEvents(reply),
    };
  }

  /**
   * Runs `work`; if Redis does not know an account (or a reservation) the event store may know
   * (Redis flushed, restarted, a new node), rebuilds the accounts and runs it once more.
   */
  private async withRestore<T>(accountIds: readonly string[], work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const missing =
        error instanceof LedgerError &&
        (error.reason === 'ACCOUNT_NOT_FOUND' || error.reason === 'RESERVATION_NOT_FOUND');
      if (!missing || !this.recovery) throw error;
      let restored = false;
      for (const accountId of accountIds) {
        if (await guardPostgres(this.recovery.restore(accountId))) restored = true;
      }
      if (!restored) throw error;
      return work();
    }
  }

  /** Runs `work`; a reservation Redis does not hold may have ended long ago (StoredAnswers). */
  private async endedReservation(
    reservationId: string,
    releasing: boolean,
    work: () => Promise<ReservationResult>,
  ): Promise<ReservationResult> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof LedgerError && error.reason === 'RESERVATION_NOT_FOUND') || !this.stored) throw error;
      const answer = await this.stored.endedReservation(reservationId, releasing);
      if (!answer) throw error;
      return answer;
    }
  }

  async openAccount(input: OpenAccountInput, ctx: CallContext): Promise<AccountResult> {
    const meta = metadataJson(input.metadata);
    const h = parameterHash('open', { currency: input.currency, od: input.overdraftLimit, meta });
    const accountKey = this.keys.account(input.accountId);
    const target = { idempotencyKey: `open:${input.accountId}`, accountId: input.accountId, recordKey: accountKey };
    return this.once(
      'open_account',
      target,
      [accountKey, this.keys.outbox(input.accountId)],
      [
        ...this.commonArgs(ctx),
        input.accountId,
        input.currency,
        input.overdraftLimit.toString(),
        meta,
        h,
        randomUUID(),
      ],
      // An account the event store knows but Redis lost must not be opened a second time: bring
      // it back, and the script answers (replay, or ACCOUNT_EXISTS).
      async () => {
        await guardPostgres(this.recovery!.restore(input.accountId));
        return undefined;
      },
      (reply) => this.accountResult(reply),
    );
  }

  async changeStatus(
    accountId: string,
    target: StatusTarget,
    reason: string,
    ctx: CallContext,
  ): Promise<AccountResult> {
    const reply = await this.apply(
      'change_account_status',
      [this.keys.account(accountId), this.keys.outbox(accountId)],
      [...this.commonArgs(ctx), target, reason, randomUUID(), accountId],
    );
    return this.accountResult(reply);
  }

  private async movement(kind: 'deposit' | 'withdraw', input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    const meta = metadataJson(input.metadata);
    const h = parameterHash(kind, { account: input.accountId, currency: input.currency, amount: input.amount, meta });
    const recordKey = this.keys.idempotency(input.accountId, 'tx', input.transactionId);
    return this.withRestore([input.accountId], () =>
      this.once(
        kind,
        this.claimTarget('tx', input.transactionId, input.accountId, recordKey),
        [this.keys.account(input.accountId), recordKey, this.keys.outbox(input.accountId)],
        [...this.commonArgs(ctx), input.transactionId, input.amount.toString(), input.currency, meta, h, randomUUID()],
        (prior) => this.stored!.account(prior, h),
        (reply) => this.accountResult(reply),
      ),
    );
  }

  deposit(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.movement('deposit', input, ctx);
  }

  withdraw(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.movement('withdraw', input, ctx);
  }

  async transfer(input: TransferInput, ctx: CallContext): Promise<TransferResult> {
    const meta = metadataJson(input.metadata);
    const h = parameterHash('transfer', {
      from: input.fromAccountId,
      to: input.toAccountId,
      currency: input.currency,
      amount: input.amount,
      meta,
    });
    const recordKey = this.keys.idempotency(input.fromAccountId, 'tx', input.transactionId);
    return this.withRestore([input.fromAccountId, input.toAccountId], () =>
      this.once(
        'transfer',
        this.claimTarget('tx', input.transactionId, input.fromAccountId, recordKey),
        [
          this.keys.account(input.fromAccountId),
          this.keys.account(input.toAccountId),
          recordKey,
          this.keys.outbox(input.fromAccountId),
          this.keys.outbox(input.toAccountId),
        ],
        [
          ...this.commonArgs(ctx),
          input.transactionId,
          input.amount.toString(),
          input.currency,
          meta,
          h,
          randomUUID(),
          randomUUID(),
        ],
        // Only one side stored yet: the original is still in flight; Redis answers the replay.
        (prior) => this.stored!.transfer(prior, h, input.fromAccountId, input.toAccountId),
        (reply) => {
          if (!reply.body.to) throw new Error('transfer reply without destination account');
          return {
            from: toAccount(reply.body.account),
            to: toAccount(reply.body.to),
            replayed: reply.replayed,
            events: pendingEvents(reply),
          };
        },
      ),
    );
  }

  async reserve(input: ReserveInput, ctx: CallContext): Promise<ReservationResult> {
    const h = parameterHash('reserve', {
      account: input.accountId,
      currency: input.currency,
      amount: input.amount,
      order: input.orderId,
      ttl: input.ttlSeconds,
    });
    const recordKey = this.keys.idempotency(input.accountId, 'res', input.reservationId);
    const result = await this.withRestore([input.accountId], () =>
      this.once(
        'reserve',
        this.claimTarget('res', input.reservationId, input.accountId, recordKey),
        [
          this.keys.account(input.accountId),
          this.keys.reservation(input.accountId, input.reservationId),
          recordKey,
          this.keys.expiryIndex(input.accountId),
          this.keys.outbox(input.accountId),
        ],
        [
          ...this.commonArgs(ctx),
          input.reservationId,
          input.amount.toString(),
          input.currency,
          input.orderId,
          input.ttlSeconds,
          h,
          randomUUID(),
          input.accountId,
        ],
        (prior) => this.stored!.reservation(prior, h, input.reservationId),
        (reply) => this.reservationResult(reply),
      ),
    );
    this.reservationAccounts.set(input.reservationId, input.accountId);
    return result;
  }

  async amend(input: AmendInput, ctx: CallContext): Promise<ReservationResult> {
    return this.reservationStep(
      'amend',
      input.reservationId,
      input.amendId,
      { currency: input.currency, amount: input.newAmount },
      (accountId, idempotencyKey) => [
        this.keys.account(accountId),
        this.keys.reservation(accountId, input.reservationId),
        idempotencyKey,
        this.keys.outbox(accountId),
        this.keys.expiryIndex(accountId),
      ],
      (h) => [input.reservationId, input.amendId, input.newAmount.toString(), input.currency, h, randomUUID()],
      ctx,
    );
  }

  async commit(input: CommitInput, ctx: CallContext): Promise<ReservationResult> {
    return this.reservationStep(
      'commit',
      input.reservationId,
      input.commitId,
      { currency: input.currency, amount: input.amount, final: input.final },
      (accountId, idempotencyKey) => [
        this.keys.account(accountId),
        this.keys.reservation(accountId, input.reservationId),
        idempotencyKey,
        this.keys.expiryIndex(accountId),
        this.keys.outbox(accountId),
      ],
      (h) => [
        input.reservationId,
        input.commitId,
        input.amount.toString(),
        input.currency,
        input.final ? '1' : '0',
        h,
        randomUUID(),
        randomUUID(),
      ],
      ctx,
    );
  }

  /**
   * Amend and commit: a step on an existing reservation under an id scoped to it. Replays older
   * than Redis's retention come from the event store; an ended reservation answers as such.
   */
  private async reservationStep(
    step: 'amend' | 'commit',
    reservationId: string,
    stepId: string,
    hashed: Record<string, unknown>,
    keys: (accountId: string, idempotencyKey: string) => string[],
    args: (h: string) => (string | number)[],
    ctx: CallContext,
  ): Promise<ReservationResult> {
    const scoped = scopedId(reservationId, stepId);
    const accountId = await this.accountOfReservation(reservationId);
    const h = parameterHash(step, hashed);
    const script: ScriptName = step === 'amend' ? 'amend_reservation' : 'commit_reservation';
    const recordKey = this.keys.idempotency(accountId, step, scoped);
    const target = { idempotencyKey: `${step}:${scoped}`, accountId, recordKey };
    return this.endedReservation(reservationId, false, () =>
      this.withRestore([accountId], () =>
        this.once(
          script,
          target,
          keys(accountId, recordKey),
          [...this.commonArgs(ctx), ...args(h)],
          (prior) => this.stored!.reservation(prior, h, reservationId),
          (reply) => this.reservationResult(reply),
        ),
      ),
    );
  }

  async release(input: ReleaseInput, ctx: CallContext): Promise<ReservationResult> {
    const accountId = await this.accountOfReservation(input.reservationId);
    return this.endedReservation(input.reservationId, true, async () =>
      this.reservationResult(
        await this.withRestore([accountId], () =>
          this.apply(
            'release_reservation',
            [
              this.keys.account(accountId),
              this.keys.reservation(accountId, input.reservationId),
              this.keys.expiryIndex(accountId),
              this.keys.outbox(accountId),
            ],
            [...this.commonArgs(ctx), input.reservationId, input.reason, randomUUID()],
          ),
        ),
      ),
    );
  }

  async getAccount(accountId: string): Promise<AccountSnapshot> {
    return this.withRestore([accountId], async () => {
      const fields = await guardRedis(this.redis.hgetall(this.keys.account(accountId)));
      if (fields['id'] === undefined) throw new LedgerError('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`);
      return toAccount(fields as unknown as Parameters<typeof toAccount>[0]);
    });
  }

  async getReservation(reservationId: string): Promise<ReservationResult> {
    const accountId = await this.accountOfReservation(reservationId);
    try {
      return await this.withRestore([accountId], () => this.liveReservation(accountId, reservationId));
    } catch (error) {
      if (!(error instanceof LedgerError && error.reason === 'RESERVATION_NOT_FOUND') || !this.stored) throw error;
      // Ended before the newest snapshot, so not restored into Redis: read it from the store.
      const stored = await this.stored.readEnded(reservationId);
      if (!stored) throw error;
      return stored;
    }
  }

  private async liveReservation(accountId: string, reservationId: string): Promise<ReservationResult> {
    const [accountFields, reservationFields] = await guardRedis(
      Promise.all([
        this.redis.hgetall(this.keys.account(accountId)),
        this.redis.hgetall(this.keys.reservation(accountId, reservationId)),
      ]),
    );
    if (reservationFields['id'] === undefined || accountFields['id'] === undefined) {
      throw new LedgerError('RESERVATION_NOT_FOUND', `reservation ${reservationId} does not exist`);
    }
    return {
      reservation: toReservation(reservationFields as unknown as Parameters<typeof toReservation>[0]),
      account: toAccount(accountFields as unknown as Parameters<typeof toAccount>[0]),
      replayed: false,
      events: [],
    };
  }
}
