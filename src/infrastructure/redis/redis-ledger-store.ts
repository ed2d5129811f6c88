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
import type { AccountState } from '../../ledger/domain/account';
import { guardPostgres } from '../postgres/postgres-errors';
import type { AccountRecovery, PriorOutcome } from '../recovery/account-recovery';
import { BoundedCache } from './bounded-cache';
import type { LuaScripts, ScriptName } from './lua-scripts';
import { RedisKeys } from './redis-keys';
import { guardRedis } from './redis-errors';
import { type AppliedReply, interpretReply, toAccount, toReservation } from './script-replies';

interface Claim {
  id: string;
  key: string;
  value: string;
  /** this call bound the id (it was free) */
  created: boolean;
}

/** The events a durable acknowledgement of this reply waits for (see PendingEvents). */
function pendingEvents(reply: AppliedReply): string[] {
  return Array.isArray(reply.body.ev) ? reply.body.ev : [];
}

/** An id scoped to a reservation (commit_id, amend_id), unambiguous whatever characters both hold. */
function scopedId(reservationId: string, id: string): string {
  return `${reservationId.length}:${reservationId}:${id}`;
}

export interface RedisLedgerStoreOptions {
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
 * and appending its events to the bucket's outbox stream in the same step.
 */
export class RedisLedgerStore extends LedgerStore {
  private readonly keys: RedisKeys;
  /** reservation_id -> account_id never changes once claimed, so caching it is always safe. */
  private readonly reservationAccounts: BoundedCache<string, string>;

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
  }

  private commonArgs(ctx: CallContext): (string | number)[] {
    return [ctx.traceparent, this.options.idempotencyRetentionSeconds, this.options.outboxMaxPerBucket];
  }

  private readonly renderMoney = (minor: bigint, currency: string): string =>
    this.currencies.has(currency)
      ? `${formatMinor(minor, this.currencies.scaleOf(currency))} ${currency}`
      : `${minor} minor units of ${currency}`;

  private async apply(name: ScriptName, keys: string[], args: (string | number)[]): Promise<AppliedReply> {
    return interpretReply(await guardRedis(this.scripts.run(name, keys, args)), this.renderMoney);
  }

  /**
   * Binds a transaction or reservation id to its account before the account's script runs, so
   * that one id can never be used on two accounts. Transaction claims expire with the replay
   * records; reservation claims stay, since amend/commit/release find the account through them.
   */
  private async claim(kind: 'tx' | 'res', id: string, accountId: string): Promise<Claim> {
    const owner = `${kind}|${accountId}|`;
    const nonce = randomUUID().slice(0, 8);
    const ttl = kind === 'tx' ? this.options.idempotencyRetentionSeconds : 0;
    const key = this.keys.claim(kind, id);
    const [bound, created] = (await guardRedis(this.scripts.run('claim', [key], [owner, nonce, ttl]))) as [
      string,
      number,
    ];
    if (bound !== owner) {
      throw new LedgerError('IDEMPOTENCY_CONFLICT', `id ${id} was already used on another account`);
    }
    const value = owner + nonce;
    if (kind === 'res') this.reservationAccounts.set(id, accountId);
    return { id, key, value, created: created === 1 };
  }

  /**
   * Runs the account's script after a claim. If the claim is new and the script rejected the
   * call, nothing was written: the claim is taken back so that the id stays usable (e.g. after a
   * typo in the account id). After a fault the script may have run, so the claim stays.
   */
  private async afterClaim<T>(claim: Claim, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (claim.created && error instanceof LedgerError && error.reason !== 'DEPENDENCY_UNAVAILABLE') {
        await guardRedis(this.scripts.run('unclaim', [claim.key], [claim.value])).catch(() => undefined);
        if (claim.value.startsWith('res|')) this.reservationAccounts.delete(claim.id);
      }
      throw error;
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
      if (accountId !== undefined) await this.claim('res', reservationId, accountId);
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

  /** What the event store says an idempotency key produced (undefined: never seen, or no store). */
  private async prior(idempotencyKey: string): Promise<PriorOutcome | undefined> {
    return this.recovery ? guardPostgres(this.recovery.priorOutcome(idempotencyKey)) : undefined;
  }

  /** A replay answered from the event store: the same parameters, or a conflict. */
  private checkPrior(prior: PriorOutcome, h: string): void {
    if (prior.records.some((r) => r.requestHash !== h)) {
      throw new LedgerError('IDEMPOTENCY_CONFLICT', 'this id was used before with different parameters');
    }
  }

  private async storedState(accountId: string, version: number, reservationId?: string): Promise<AccountState> {
    const recovery = this.recovery;
    if (!recovery) throw new Error('no event store');
    const state = await guardPostgres(
      reservationId
        ? recovery.stateWithReservation(accountId, version, reservationId)
        : recovery.stateAt(accountId, version),
    );
    if (!state) throw new Error(`event store lost ${accountId} v${version}`);
    return state;
  }

  private static snapshot(state: AccountState): AccountSnapshot {
    const { reservations: _, ...account } = state;
    return account;
  }

  private async priorAccountResult(prior: PriorOutcome, h: string): Promise<AccountResult> {
    this.checkPrior(prior, h);
    const record = prior.records[0];
    if (!record) throw new Error('empty prior outcome');
    return {
      account: RedisLedgerStore.snapshot(await this.storedState(record.accountId, record.version)),
      replayed: true,
      events: [],
    };
  }

  private async priorReservationResult(
    prior: PriorOutcome,
    h: string,
    reservationId: string,
  ): Promise<ReservationResult> {
    this.checkPrior(prior, h);
    const record = prior.records[0];
    if (!record) throw new Error('empty prior outcome');
    const state = await this.storedState(record.accountId, record.version, reservationId);
    const reservation = state.reservations.get(reservationId);
    if (!reservation) throw new Error(`event store lost reservation ${reservationId}`);
    return { reservation, account: RedisLedgerStore.snapshot(state), replayed: true, events: [] };
  }

  /**
   * A reservation Redis does not hold even after its account was restored has ended before the
   * account's newest snapshot (only active ones are restored). Answers as Redis would have:
   * releasing a released one again is a replay; anything else on an ended one is NOT_ACTIVE.
   */
  private async endedReservation<T>(
    reservationId: string,
    releasing: boolean,
    work: () => Promise<T>,
  ): Promise<T | ReservationResult> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof LedgerError && error.reason === 'RESERVATION_NOT_FOUND') || !this.recovery) throw error;
      const stored = await guardPostgres(this.recovery.reservationFromHistory(reservationId));
      if (!stored) throw error;
      const { reservation } = stored;
      if (releasing && reservation.status === 'RELEASED') {
        return { reservation, account: RedisLedgerStore.snapshot(stored.account), replayed: true, events: [] };
      }
      throw new LedgerError('RESERVATION_NOT_ACTIVE', `reservation ${reservationId} is ${reservation.status}`);
    }
  }

  async openAccount(input: OpenAccountInput, ctx: CallContext): Promise<AccountResult> {
    const meta = metadataJson(input.metadata);
    const h = parameterHash('open', { currency: input.currency, od: input.overdraftLimit, meta });
    // An account the event store knows but Redis lost must not be opened a second time.
    if (await this.prior(`open:${input.accountId}`)) await guardPostgres(this.recovery!.restore(input.accountId));
    const reply = await this.apply(
      'open_account',
      [this.keys.account(input.accountId), this.keys.outbox(input.accountId)],
      [
        ...this.commonArgs(ctx),
        input.accountId,
        input.currency,
        input.overdraftLimit.toString(),
        meta,
        h,
        randomUUID(),
      ],
    );
    return this.accountResult(reply);
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
    const [claim, prior] = await Promise.all([
      this.claim('tx', input.transactionId, input.accountId),
      this.prior(`tx:${input.transactionId}`),
    ]);
    if (prior) return this.priorAccountResult(prior, h);
    const reply = await this.afterClaim(claim, () =>
      this.withRestore([input.accountId], () =>
        this.apply(
          kind,
          [
            this.keys.account(input.accountId),
            this.keys.idempotency(input.accountId, 'tx', input.transactionId),
            this.keys.outbox(input.accountId),
          ],
          [
            ...this.commonArgs(ctx),
            input.transactionId,
            input.amount.toString(),
            input.currency,
            meta,
            h,
            randomUUID(),
          ],
        ),
      ),
    );
    return this.accountResult(reply);
  }

  deposit(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.movement('deposit', input, ctx);
  }

  withdraw(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.movement('withdraw', input, ctx);
  }

  async transfer(input: TransferInput, ctx: CallContext): Promise<TransferResult> {
    const [claim, prior] = await Promise.all([
      this.claim('tx', input.transactionId, input.fromAccountId),
      this.prior(`tx:${input.transactionId}`),
    ]);
    const meta = metadataJson(input.metadata);
    const h = parameterHash('transfer', {
      from: input.fromAccountId,
      to: input.toAccountId,
      currency: input.currency,
      amount: input.amount,
      meta,
    });
    if (prior) {
      this.checkPrior(prior, h);
      const from = prior.records.find((r) => r.accountId === input.fromAccountId);
      const to = prior.records.find((r) => r.accountId === input.toAccountId);
      if (from && to) {
        const [fromState, toState] = await Promise.all([
          this.storedState(from.accountId, from.version),
          this.storedState(to.accountId, to.version),
        ]);
        return {
          from: RedisLedgerStore.snapshot(fromState),
          to: RedisLedgerStore.snapshot(toState),
          replayed: true,
          events: [],
        };
      }
      // Only one side stored yet: the original is still in flight; Redis answers the replay.
    }
    const reply = await this.afterClaim(claim, () =>
      this.withRestore([input.fromAccountId, input.toAccountId], () =>
        this.apply(
          'transfer',
          [
            this.keys.account(input.fromAccountId),
            this.keys.account(input.toAccountId),
            this.keys.idempotency(input.fromAccountId, 'tx', input.transactionId),
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
        ),
      ),
    );
    if (!reply.body.to) throw new Error('transfer reply without destination account');
    return {
      from: toAccount(reply.body.account),
      to: toAccount(reply.body.to),
      replayed: reply.replayed,
      events: pendingEvents(reply),
    };
  }

  async reserve(input: ReserveInput, ctx: CallContext): Promise<ReservationResult> {
    const [claim, prior] = await Promise.all([
      this.claim('res', input.reservationId, input.accountId),
      this.prior(`res:${input.reservationId}`),
    ]);
    const h = parameterHash('reserve', {
      account: input.accountId,
      currency: input.currency,
      amount: input.amount,
      order: input.orderId,
      ttl: input.ttlSeconds,
    });
    if (prior) return this.priorReservationResult(prior, h, input.reservationId);
    const reply = await this.afterClaim(claim, () =>
      this.withRestore([input.accountId], () =>
        this.apply(
          'reserve',
          [
            this.keys.account(input.accountId),
            this.keys.reservation(input.accountId, input.reservationId),
            this.keys.idempotency(input.accountId, 'res', input.reservationId),
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
        ),
      ),
    );
    return this.reservationResult(reply);
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
    const [accountId, prior] = await Promise.all([
      this.accountOfReservation(reservationId),
      this.prior(`${step}:${scoped}`),
    ]);
    const h = parameterHash(step, hashed);
    if (prior) return this.priorReservationResult(prior, h, reservationId);
    const script: ScriptName = step === 'amend' ? 'amend_reservation' : 'commit_reservation';
    return this.endedReservation(reservationId, false, async () =>
      this.reservationResult(
        await this.withRestore([accountId], () =>
          this.apply(script, keys(accountId, this.keys.idempotency(accountId, step, scoped)), [
            ...this.commonArgs(ctx),
            ...args(h),
          ]),
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
      if (!(error instanceof LedgerError && error.reason === 'RESERVATION_NOT_FOUND') || !this.recovery) throw error;
      // Ended before the newest snapshot, so not restored into Redis: read it from the store.
      const stored = await guardPostgres(this.recovery.reservationFromHistory(reservationId));
      if (!stored) throw error;
      return {
        reservation: stored.reservation,
        account: RedisLedgerStore.snapshot(stored.account),
        replayed: false,
        events: [],
      };
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
