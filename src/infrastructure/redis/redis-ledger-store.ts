import type Redis from 'ioredis';
import type { CurrencyRegistry } from '../../ledger/domain/currency';
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
import { metadataJson, parameterHash, scopedId } from './call-identity';
import type { IdFilterOptions } from './id-filter';
import { PriorCheckNeeded, idempotentArgs, idempotentKeys } from './idempotent-call';
import type { LuaScripts } from './lua-scripts';
import { LiveReads } from './live-reads';
import { RedisKeys } from './redis-keys';
import { toAccount } from './hash-codec';
import { guardRedis } from './redis-errors';
import { type IdempotentScriptCall, type ScriptCall, ScriptCalls } from './script-calls';
import {
  type AppliedReply,
  accountResultOf,
  interpretReply,
  pendingEvents,
  reservationResultOf,
} from './script-replies';
import { ReservationLocator } from './reservation-locator';
import { RestoringCalls } from './restoring-calls';
import { StoredAnswers } from './stored-answers';

export interface RedisLedgerStoreOptions extends IdFilterOptions {
  buckets: number;
  idempotencyRetentionSeconds: number;
  outboxMaxPerBucket: number;
  reservationLocationCacheMax: number;
}

/**
 * The ledger's live state in Redis: every mutation is one Lua script (lua/), atomic, idempotent
 * and appending its events to the bucket's outbox stream in the same step. ScriptCalls builds
 * each script's KEYS and ARGV; scripts keyed by a client id run wrapped in
 * lua/lib/idempotent.lua (id claim + id filter + the step, one round trip), and only an id the
 * filter cannot rule out costs an event store lookup (`once`). Accounts and reservations Redis
 * lost are rebuilt from the event store, ended ones answered from it (RestoringCalls).
 */
export class RedisLedgerStore extends LedgerStore {
  private readonly keys: RedisKeys;
  private readonly calls: ScriptCalls;
  private readonly reservations: ReservationLocator;
  private readonly stored: StoredAnswers | undefined;
  private readonly restoring: RestoringCalls;
  private readonly live: LiveReads;

  constructor(
    redis: Redis,
    private readonly scripts: LuaScripts,
    private readonly currencies: CurrencyRegistry,
    private readonly options: RedisLedgerStoreOptions,
    /** the event store behind Redis: rebuilds missing accounts, answers old replays */
    private readonly recovery?: AccountRecovery,
  ) {
    super();
    this.keys = new RedisKeys(options.buckets);
    this.calls = new ScriptCalls(this.keys, options);
    this.reservations = new ReservationLocator(
      redis,
      scripts,
      this.keys,
      options.reservationLocationCacheMax,
      recovery,
    );
    this.stored = recovery ? new StoredAnswers(recovery) : undefined;
    this.restoring = new RestoringCalls(recovery, this.stored);
    this.live = new LiveReads(redis, this.keys);
  }

  private readonly renderMoney = (minor: bigint, currency: string): string =>
    this.currencies.has(currency)
      ? `${formatMinor(minor, this.currencies.scaleOf(currency))} ${currency}`
      : `${minor} minor units of ${currency}`;

  private async apply(call: ScriptCall): Promise<AppliedReply> {
    const raw = await guardRedis(this.scripts.run(call.script, call.keys, call.args));
    if (Array.isArray(raw) && raw[0] === 'CHECK_PRIOR') throw new PriorCheckNeeded();
    return interpretReply(raw, this.renderMoney);
  }

  /**
   * Runs a wrapped script (lua/lib/idempotent.lua) once for its id. If the id filter cannot rule
   * the id out, asks the event store: a stored outcome is answered by `fromStore` (undefined: let
   * Redis answer after all), otherwise the script runs again, told that the store has no record.
   */
  private async once<T>(
    call: IdempotentScriptCall,
    fromStore: (prior: PriorOutcome) => Promise<T | undefined>,
    toResult: (reply: AppliedReply) => T,
  ): Promise<T> {
    const keys = [...call.keys, ...idempotentKeys(this.keys, call.target)];
    const run = (priorChecked: boolean): Promise<AppliedReply> =>
      this.apply({ ...call, keys, args: [...call.args, ...idempotentArgs(call.target, priorChecked, this.options)] });
    try {
      return toResult(await run(false));
    } catch (error) {
      if (!(error instanceof PriorCheckNeeded)) throw error;
    }
    const prior = this.stored ? await this.stored.prior(call.target.idempotencyKey) : undefined;
    if (prior) {
      const answer = await fromStore(prior);
      if (answer !== undefined) return answer;
    }
    return toResult(await run(true));
  }

  async openAccount(input: OpenAccountInput, ctx: CallContext): Promise<AccountResult> {
    const metadata = metadataJson(input.metadata);
    const requestHash = parameterHash('open', { currency: input.currency, od: input.overdraftLimit, meta: metadata });
    const call = this.calls.openAccount({
      ...input,
      metadataJson: metadata,
      requestHash,
      traceparent: ctx.traceparent,
    });
    return this.once(
      call,
      // An account the event store knows but Redis lost must not be opened a second time: bring
      // it back, and the script answers (replay, or ACCOUNT_EXISTS).
      async () => {
        await guardPostgres(this.recovery!.restore(input.accountId));
        return undefined;
      },
      (reply) => accountResultOf(reply),
    );
  }

  async changeStatus(
    accountId: string,
    target: StatusTarget,
    reason: string,
    ctx: CallContext,
  ): Promise<AccountResult> {
    return accountResultOf(
      await this.apply(this.calls.changeStatus({ accountId, target, reason, traceparent: ctx.traceparent })),
    );
  }

  private movement(kind: 'deposit' | 'withdraw', input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    const metadata = metadataJson(input.metadata);
    const requestHash = parameterHash(kind, {
      account: input.accountId,
      currency: input.currency,
      amount: input.amount,
      meta: metadata,
    });
    const call = this.calls.movement(kind, {
      ...input,
      metadataJson: metadata,
      requestHash,
      traceparent: ctx.traceparent,
    });
    return this.restoring.withRestore([input.accountId], () =>
      this.once(
        call,
        (prior) => this.stored!.account(prior, requestHash),
        (reply) => accountResultOf(reply),
      ),
    );
  }

  deposit(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.movement('deposit', input, ctx);
  }

  withdraw(input: MovementInput, ctx: CallContext): Promise<AccountResult> {
    return this.movement('withdraw', input, ctx);
  }

  transfer(input: TransferInput, ctx: CallContext): Promise<TransferResult> {
    const metadata = metadataJson(input.metadata);
    const requestHash = parameterHash('transfer', {
      from: input.fromAccountId,
      to: input.toAccountId,
      currency: input.currency,
      amount: input.amount,
      meta: metadata,
    });
    const call = this.calls.transfer({ ...input, metadataJson: metadata, requestHash, traceparent: ctx.traceparent });
    return this.restoring.withRestore([input.fromAccountId, input.toAccountId], () =>
      this.once(
        call,
        // Only one side stored yet: the original is still in flight; Redis answers the replay.
        (prior) => this.stored!.transfer(prior, requestHash, input.fromAccountId, input.toAccountId),
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
    const requestHash = parameterHash('reserve', {
      account: input.accountId,
      currency: input.currency,
      amount: input.amount,
      order: input.orderId,
      ttl: input.ttlSeconds,
    });
    const call = this.calls.reserve({ ...input, requestHash, traceparent: ctx.traceparent });
    const result = await this.restoring.withRestore([input.accountId], () =>
      this.once(
        call,
        (prior) => this.stored!.reservation(prior, requestHash, input.reservationId),
        (reply) => reservationResultOf(reply),
      ),
    );
    this.reservations.remember(input.reservationId, input.accountId);
    return result;
  }

  async amend(input: AmendInput, ctx: CallContext): Promise<ReservationResult> {
    const accountId = await this.reservations.accountOf(input.reservationId);
    const requestHash = parameterHash('amend', { currency: input.currency, amount: input.newAmount });
    const scoped = scopedId(input.reservationId, input.amendId);
    const call = this.calls.amend({ ...input, accountId, scoped, requestHash, traceparent: ctx.traceparent });
    return this.reservationStep(call, input.reservationId, requestHash);
  }

  async commit(input: CommitInput, ctx: CallContext): Promise<ReservationResult> {
    const accountId = await this.reservations.accountOf(input.reservationId);
    const requestHash = parameterHash('commit', { currency: input.currency, amount: input.amount, final: input.final });
    const scoped = scopedId(input.reservationId, input.commitId);
    const call = this.calls.commit({ ...input, accountId, scoped, requestHash, traceparent: ctx.traceparent });
    return this.reservationStep(call, input.reservationId, requestHash);
  }

  /**
   * Amend and commit: a step on an existing reservation under an id scoped to it. Replays older
   * than Redis's retention come from the event store; an ended reservation answers as such.
   */
  private reservationStep(
    call: IdempotentScriptCall,
    reservationId: string,
    requestHash: string,
  ): Promise<ReservationResult> {
    return this.restoring.orEnded(reservationId, false, () =>
      this.restoring.withRestore([call.target.accountId], () =>
        this.once(
          call,
          (prior) => this.stored!.reservation(prior, requestHash, reservationId),
          (reply) => reservationResultOf(reply),
        ),
      ),
    );
  }

  async release(input: ReleaseInput, ctx: CallContext): Promise<ReservationResult> {
    const accountId = await this.reservations.accountOf(input.reservationId);
    const call = this.calls.release({ ...input, accountId, traceparent: ctx.traceparent });
    return this.restoring.orEnded(input.reservationId, true, async () =>
      reservationResultOf(await this.restoring.withRestore([accountId], () => this.apply(call))),
    );
  }

  getAccount(accountId: string): Promise<AccountSnapshot> {
    return this.restoring.withRestore([accountId], () => this.live.account(accountId));
  }

  async getReservation(reservationId: string): Promise<ReservationResult> {
    const accountId = await this.reservations.accountOf(reservationId);
    return this.restoring.orReadEnded(reservationId, () =>
      this.restoring.withRestore([accountId], () => this.live.reservation(accountId, reservationId)),
    );
  }
}
