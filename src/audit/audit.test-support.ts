import type { AccountState } from '../ledger/domain/account';
import type { EventType, LedgerEvent } from '../ledger/domain/events';
import { accountHash, reservationHash } from '../infrastructure/redis/hash-codec';

let eventCounter = 0;

/**
 * Consistent histories for the audit's unit tests: each call appends the event a Lua script
 * would emit (version, balance_after and held_after computed), so a test changes one thing on
 * purpose and sees exactly that reported.
 */
export class History {
  readonly events: LedgerEvent[] = [];
  private balance = 0n;
  private held = 0n;
  private readonly holds = new Map<string, { amount: bigint; committed: bigint }>();

  constructor(
    readonly accountId: string,
    readonly currency = 'USD',
  ) {}

  private push(type: EventType, amount: bigint, extra: Partial<LedgerEvent> = {}): LedgerEvent {
    const version = this.events.length + 1;
    const e: LedgerEvent = {
      eventId: `00000000-0000-4000-8000-${String(++eventCounter).padStart(12, '0')}`,
      accountId: this.accountId,
      version,
      type,
      occurredAtMs: 1_700_000_000_000 + version,
      currency: this.currency,
      amount,
      balanceAfter: this.balance,
      heldAfter: this.held,
      referenceId: '',
      reservationId: '',
      counterpartyAccountId: '',
      metadata: {},
      details: {},
      traceparent: '',
      idempotencyKey: '',
      ...extra,
    };
    this.events.push(e);
    return e;
  }

  open(): this {
    this.push('ACCOUNT_OPENED', 0n, { idempotencyKey: `open:${this.accountId}`, details: { overdraftLimit: 0n } });
    return this;
  }

  deposit(tx: string, amount: bigint): this {
    this.balance += amount;
    this.push('FUNDS_DEPOSITED', amount, { referenceId: tx, idempotencyKey: `tx:${tx}` });
    return this;
  }

  transferOut(tx: string, to: string, amount: bigint): this {
    this.balance -= amount;
    this.push('TRANSFER_DEBITED', amount, { referenceId: tx, counterpartyAccountId: to, idempotencyKey: `tx:${tx}` });
    return this;
  }

  transferIn(tx: string, from: string, amount: bigint): this {
    this.balance += amount;
    this.push('TRANSFER_CREDITED', amount, {
      referenceId: tx,
      counterpartyAccountId: from,
      idempotencyKey: `tx:${tx}`,
    });
    return this;
  }

  reserve(rid: string, amount: bigint, expiresAtMs = 0): this {
    this.held += amount;
    this.holds.set(rid, { amount, committed: 0n });
    this.push('FUNDS_RESERVED', amount, {
      referenceId: rid,
      reservationId: rid,
      idempotencyKey: `res:${rid}`,
      details: { orderId: `o-${rid}`, expiresAtMs },
    });
    return this;
  }

  commit(rid: string, commitId: string, amount: bigint): this {
    const h = this.holds.get(rid) as { amount: bigint; committed: bigint };
    h.committed += amount;
    this.held -= amount;
    this.balance -= amount;
    this.push('RESERVATION_COMMITTED', amount, {
      referenceId: commitId,
      reservationId: rid,
      idempotencyKey: `commit:${rid.length}:${rid}:${commitId}`,
      details: { final: false },
    });
    return this;
  }

  release(rid: string): this {
    const h = this.holds.get(rid) as { amount: bigint; committed: bigint };
    const rest = h.amount - h.committed;
    this.held -= rest;
    this.push('RESERVATION_RELEASED', rest, {
      referenceId: rid,
      reservationId: rid,
      idempotencyKey: `release:${rid}`,
      details: { reason: 'done' },
    });
    return this;
  }
}

/** The Redis hashes the Lua scripts keep for a state (written as a restore writes them). */
export function redisHashesOf(state: AccountState): {
  account: Record<string, string>;
  reservations: Map<string, Record<string, string>>;
} {
  return {
    account: { ...accountHash(state, 'h-open'), lev: '' },
    reservations: new Map([...state.reservations.values()].map((r) => [r.reservationId, reservationHash(r, 'h')])),
  };
}
