import { randomUUID } from 'node:crypto';
import type { StatusTarget } from '../../ledger/ports/ledger-store';
import type { IdempotentTarget } from './idempotent-call';
import type { ScriptName } from './lua-scripts';
import type { RedisKeys } from './redis-keys';

/** One EVALSHA, ready to send: the script, its KEYS and ARGV (as its header in lua/ lists them). */
export interface ScriptCall {
  script: ScriptName;
  keys: string[];
  args: (string | number)[];
}

/** A call of a script keyed by a client id (run through lua/lib/idempotent.lua). */
export interface IdempotentScriptCall extends ScriptCall {
  target: IdempotentTarget;
}

interface Traced {
  traceparent: string;
  /** parameterHash of the call */
  requestHash: string;
}

export interface ScriptCallOptions {
  idempotencyRetentionSeconds: number;
  outboxMaxPerBucket: number;
}

/**
 * The typed side of lua/: one function per script, named parameters in, KEYS and ARGV out in the
 * order of the script's header, with fresh event ids. Nothing here talks to Redis.
 */
export class ScriptCalls {
  constructor(
    private readonly keys: RedisKeys,
    private readonly options: ScriptCallOptions,
  ) {}

  /** ARGV[1..3] of every account script. */
  private common(traceparent: string): (string | number)[] {
    return [traceparent, this.options.idempotencyRetentionSeconds, this.options.outboxMaxPerBucket];
  }

  private claimed(kind: 'tx' | 'res', id: string, accountId: string, recordKey: string): IdempotentTarget {
    const ttlSeconds = kind === 'tx' ? this.options.idempotencyRetentionSeconds : 0;
    return { idempotencyKey: `${kind}:${id}`, accountId, recordKey, claim: { kind, id, ttlSeconds } };
  }

  openAccount(
    p: Traced & { accountId: string; currency: string; overdraftLimit: bigint; metadataJson: string },
  ): IdempotentScriptCall {
    const accountKey = this.keys.account(p.accountId);
    return {
      script: 'open_account',
      keys: [accountKey, this.keys.outbox(p.accountId)],
      args: [
        ...this.common(p.traceparent),
        p.accountId,
        p.currency,
        p.overdraftLimit.toString(),
        p.metadataJson,
        p.requestHash,
        randomUUID(),
      ],
      // The account itself is the record: if it exists, the script answers the id.
      target: { idempotencyKey: `open:${p.accountId}`, accountId: p.accountId, recordKey: accountKey },
    };
  }

  changeStatus(p: { accountId: string; target: StatusTarget; reason: string; traceparent: string }): ScriptCall {
    return {
      script: 'change_account_status',
      keys: [this.keys.account(p.accountId), this.keys.outbox(p.accountId)],
      args: [...this.common(p.traceparent), p.target, p.reason, randomUUID(), p.accountId],
    };
  }

  movement(
    kind: 'deposit' | 'withdraw',
    p: Traced & { transactionId: string; accountId: string; amount: bigint; currency: string; metadataJson: string },
  ): IdempotentScriptCall {
    const recordKey = this.keys.idempotency(p.accountId, 'tx', p.transactionId);
    return {
      script: kind,
      keys: [this.keys.account(p.accountId), recordKey, this.keys.outbox(p.accountId)],
      args: [
        ...this.common(p.traceparent),
        p.transactionId,
        p.amount.toString(),
        p.currency,
        p.metadataJson,
        p.requestHash,
        randomUUID(),
      ],
      target: this.claimed('tx', p.transactionId, p.accountId, recordKey),
    };
  }

  transfer(
    p: Traced & {
      transactionId: string;
      fromAccountId: string;
      toAccountId: string;
      amount: bigint;
      currency: string;
      metadataJson: string;
    },
  ): IdempotentScriptCall {
    const recordKey = this.keys.idempotency(p.fromAccountId, 'tx', p.transactionId);
    return {
      script: 'transfer',
      keys: [
        this.keys.account(p.fromAccountId),
        this.keys.account(p.toAccountId),
        recordKey,
        this.keys.outbox(p.fromAccountId),
        this.keys.outbox(p.toAccountId),
      ],
      args: [
        ...this.common(p.traceparent),
        p.transactionId,
        p.amount.toString(),
        p.currency,
        p.metadataJson,
        p.requestHash,
        randomUUID(),
        randomUUID(),
      ],
      target: this.claimed('tx', p.transactionId, p.fromAccountId, recordKey),
    };
  }

  reserve(
    p: Traced & {
      reservationId: string;
      accountId: string;
      amount: bigint;
      currency: string;
      orderId: string;
      ttlSeconds: number;
    },
  ): IdempotentScriptCall {
    const recordKey = this.keys.idempotency(p.accountId, 'res', p.reservationId);
    return {
      script: 'reserve',
      keys: [
        this.keys.account(p.accountId),
        this.keys.reservation(p.accountId, p.reservationId),
        recordKey,
        this.keys.expiryIndex(p.accountId),
        this.keys.outbox(p.accountId),
      ],
      args: [
        ...this.common(p.traceparent),
        p.reservationId,
        p.amount.toString(),
        p.currency,
        p.orderId,
        p.ttlSeconds,
        p.requestHash,
        randomUUID(),
        p.accountId,
      ],
      target: this.claimed('res', p.reservationId, p.accountId, recordKey),
    };
  }

  /** `scoped`: the amend_id scoped to its reservation (scopedId). */
  amend(
    p: Traced & {
      accountId: string;
      reservationId: string;
      amendId: string;
      scoped: string;
      newAmount: bigint;
      currency: string;
    },
  ): IdempotentScriptCall {
    const recordKey = this.keys.idempotency(p.accountId, 'amend', p.scoped);
    return {
      script: 'amend_reservation',
      keys: [
        this.keys.account(p.accountId),
        this.keys.reservation(p.accountId, p.reservationId),
        recordKey,
        this.keys.outbox(p.accountId),
        this.keys.expiryIndex(p.accountId),
      ],
      args: [
        ...this.common(p.traceparent),
        p.reservationId,
        p.amendId,
        p.newAmount.toString(),
        p.currency,
        p.requestHash,
        randomUUID(),
      ],
      target: { idempotencyKey: `amend:${p.scoped}`, accountId: p.accountId, recordKey },
    };
  }

  /** `scoped`: the commit_id scoped to its reservation (scopedId). */
  commit(
    p: Traced & {
      accountId: string;
      reservationId: string;
      commitId: string;
      scoped: string;
      amount: bigint;
      currency: string;
      final: boolean;
    },
  ): IdempotentScriptCall {
    const recordKey = this.keys.idempotency(p.accountId, 'commit', p.scoped);
    return {
      script: 'commit_reservation',
      keys: [
        this.keys.account(p.accountId),
        this.keys.reservation(p.accountId, p.reservationId),
        recordKey,
        this.keys.expiryIndex(p.accountId),
        this.keys.outbox(p.accountId),
      ],
      args: [
        ...this.common(p.traceparent),
        p.reservationId,
        p.commitId,
        p.amount.toString(),
        p.currency,
        p.final ? '1' : '0',
        p.requestHash,
        randomUUID(),
        randomUUID(),
      ],
      target: { idempotencyKey: `commit:${p.scoped}`, accountId: p.accountId, recordKey },
    };
  }

  release(p: { accountId: string; reservationId: string; reason: string; traceparent: string }): ScriptCall {
    return {
      script: 'release_reservation',
      keys: [
        this.keys.account(p.accountId),
        this.keys.reservation(p.accountId, p.reservationId),
        this.keys.expiryIndex(p.accountId),
        this.keys.outbox(p.accountId),
      ],
      args: [...this.common(p.traceparent), p.reservationId, p.reason, randomUUID()],
    };
  }
}
