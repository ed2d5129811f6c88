import { setTimeout as sleep } from 'node:timers/promises';
import { type DecodedError, decodeError, type LedgerClient, type Reply } from './ledger-client';
import { expectReason, money } from './ledger-expect';
import { uid } from './ledger-app';
import { fromMinor, toMinor } from './kafka-reader';
import { SCALES } from './isolated-ledger';

/** A small seeded PRNG (mulberry32): a failing run can be repeated with the seed it reports. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type OpKind = 'deposit' | 'withdraw' | 'transfer' | 'reserve' | 'amend' | 'commit' | 'release';

export interface Op {
  kind: OpKind;
  method: string;
  request: Record<string, unknown>;
  /** the idempotency key the events carry as reference_id */
  ref: string;
  /** accounts the call changes (a transfer: from, to) */
  accounts: string[];
  currency: string;
  amountMinor: bigint;
  final: boolean;
  /** a deliberate re-send of an earlier successful op (must answer replayed=true) */
  replayOf?: Outcome;
}

export interface Outcome {
  op: Op;
  reply?: Reply;
  error?: DecodedError;
  startedMs: number;
  latencyMs: number;
}

export interface WorkloadAccount {
  accountId: string;
  currency: string;
}

interface KnownReservation {
  reservationId: string;
  accountId: string;
  currency: string;
  amount: bigint;
  committed: bigint;
  active: boolean;
}

/** Rejects a random mix may meet on its own: not faults. */
export const BUSINESS_REJECTS = new Set([
  'INSUFFICIENT_FUNDS',
  'RESERVATION_NOT_ACTIVE',
  'COMMIT_EXCEEDS_RESERVATION',
  'AMEND_BELOW_COMMITTED',
]);

export interface WorkloadOptions {
  accounts: readonly WorkloadAccount[];
  seed: number;
  concurrency: number;
  /** stop after this many ops ... */
  ops?: number;
  /** ... or once this returns true (checked before each op) */
  stop?: () => boolean;
  /** runs right after each reply, before the worker sends its next call */
  afterReply?: (outcome: Outcome) => Promise<void>;
  /** client deadline per call */
  timeoutMs?: number;
  /** share of deliberate replays of earlier successful ops (default 0.04) */
  replayShare?: number;
  /** a worker whose call failed other than by a business reject waits this long (a client's backoff) */
  backoffAfterUnavailableMs?: number;
}

/**
 * A random mix of deposits, withdrawals, transfers, reserves, amends, partial and final commits
 * and releases over the given accounts, `concurrency` calls in flight. Choices follow what the
 * replies said (reservations known active, their size and committed part), so most calls are
 * meaningful; rejects the mix can cause by itself (insufficient funds, a reservation another
 * call just finished) are expected and recorded. Every outcome is kept, in completion order.
 */
export class Workload {
  readonly outcomes: Outcome[] = [];
  private readonly random: () => number;
  private readonly reservations: KnownReservation[] = [];
  private readonly active = new Map<string, KnownReservation>();
  private readonly successes: Outcome[] = [];
  private started = 0;

  constructor(
    private readonly client: LedgerClient,
    private readonly options: WorkloadOptions,
  ) {
    this.random = prng(options.seed);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)] as T;
  }

  /** 1 .. maxMajor * 100 minor units: up to maxMajor dollars in USD, maxMajor * 100 yen in JPY. */
  private amount(maxMajor: number): bigint {
    return BigInt(Math.floor(this.random() * maxMajor * 100)) + 1n;
  }

  private money(minor: bigint, currency: string): { amount: string; currency: string } {
    return money(fromMinor(minor, SCALES.get(currency) ?? 2), currency);
  }

  /** The next op, chosen from what is known now. */
  next(): Op {
    const r = this.random();
    const replayShare = this.options.replayShare ?? 0.04;
    if (r < replayShare && this.successes.length > 0) {
      const original = this.pick(this.successes);
      return { ...original.op, replayOf: original };
    }
    const x = (r - replayShare) / (1 - replayShare);
    const activeList = [...this.active.values()];
    const account = this.pick(this.options.accounts);
    const cur = account.currency;
    if (x < 0.14) return this.movement('deposit', account, this.amount(60));
    if (x < 0.24) return this.movement('withdraw', account, this.amount(40));
    if (x < 0.4) {
      const peers = this.options.accounts.filter((a) => a.currency === cur && a.accountId !== account.accountId);
      const to = this.pick(peers);
      const amountMinor = this.amount(40);
      const ref = uid('tr');
      return {
        kind: 'transfer',
        method: 'Transfer',
        request: {
          transactionId: ref,
          fromAccountId: account.accountId,
          toAccountId: to.accountId,
          amount: this.money(amountMinor, cur),
        },
        ref,
        accounts: [account.accountId, to.accountId],
        currency: cur,
        amountMinor,
        final: false,
      };
    }
    if (x < 0.62 || activeList.length === 0) {
      const amountMinor = this.amount(80);
      const ref = uid('res');
      return {
        kind: 'reserve',
        method: 'Reserve',
        request: {
          reservationId: ref,
          accountId: account.accountId,
          amount: this.money(amountMinor, cur),
          orderId: uid('o'),
          ttlSeconds: 0,
        },
        ref,
        accounts: [account.accountId],
        currency: cur,
        amountMinor,
        final: false,
      };
    }
    const res = this.pick(activeList);
    const remaining = res.amount - res.committed;
    if (x < 0.7) {
      // Up or down by up to half; sometimes below what was committed (AMEND_BELOW_COMMITTED).
      const delta = BigInt(Math.floor((this.random() - 0.5) * Number(res.amount)));
      const newAmount = res.amount + delta > 0n ? res.amount + delta : 1n;
      const ref = uid('am');
      return {
        kind: 'amend',
        method: 'AmendReservation',
        request: { reservationId: res.reservationId, amendId: ref, newAmount: this.money(newAmount, res.currency) },
        ref,
        accounts: [res.accountId],
        currency: res.currency,
        amountMinor: newAmount,
        final: false,
      };
    }
    if (x < 0.94) {
      const final = x >= 0.84;
      const portion = remaining > 1n ? BigInt(Math.floor(this.random() * Number(remaining))) + 1n : 1n;
      const amountMinor = final && this.random() < 0.3 ? remaining : portion;
      const ref = uid('c');
      return {
        kind: 'commit',
        method: 'CommitReservation',
        request: {
          reservationId: res.reservationId,
          commitId: ref,
          amount: this.money(amountMinor > 0n ? amountMinor : 1n, res.currency),
          final,
        },
        ref,
        accounts: [res.accountId],
        currency: res.currency,
        amountMinor: amountMinor > 0n ? amountMinor : 1n,
        final,
      };
    }
    return {
      kind: 'release',
      method: 'ReleaseReservation',
      request: { reservationId: res.reservationId, reason: 'workload' },
      ref: res.reservationId,
      accounts: [res.accountId],
      currency: res.currency,
      amountMinor: 0n,
      final: false,
    };
  }

  private movement(kind: 'deposit' | 'withdraw', account: WorkloadAccount, amountMinor: bigint): Op {
    const ref = uid(kind === 'deposit' ? 'dep' : 'wd');
    return {
      kind,
      method: kind === 'deposit' ? 'Deposit' : 'Withdraw',
      request: { transactionId: ref, accountId: account.accountId, amount: this.money(amountMinor, account.currency) },
      ref,
      accounts: [account.accountId],
      currency: account.currency,
      amountMinor,
      final: false,
    };
  }

  /** Learns from a reply: reservations created, resized, committed, finished. */
  private learn(op: Op, reply: Reply): void {
    const reservation = reply['reservation'] as Reply | undefined;
    if (!reservation) return;
    const scale = SCALES.get(op.currency) ?? 2;
    const known: KnownReservation = {
      reservationId: reservation['reservationId'],
      accountId: reservation['accountId'],
      currency: reservation['currency'],
      amount: toMinor(reservation['amount'], scale),
      committed: toMinor(reservation['committed'], scale),
      active: reservation['status'] === 'RESERVATION_STATUS_ACTIVE',
    };
    if (op.kind === 'reserve' && !op.replayOf) this.reservations.push(known);
    if (known.active) this.active.set(known.reservationId, known);
    else this.active.delete(known.reservationId);
  }

  async execute(op: Op): Promise<Outcome> {
    const startedMs = Date.now();
    const outcome: Outcome = { op, startedMs, latencyMs: 0 };
    try {
      outcome.reply = await this.client.call(op.method, op.request, undefined, this.options.timeoutMs ?? 30_000);
    } catch (error) {
      outcome.error = decodeError(error);
    }
    outcome.latencyMs = Date.now() - startedMs;
    if (outcome.reply) {
      this.learn(op, outcome.reply);
      if (!op.replayOf && outcome.reply['replayed'] === false) this.successes.push(outcome);
    } else if (outcome.error?.reason === 'RESERVATION_NOT_ACTIVE' && op.kind !== 'reserve') {
      this.active.delete(String(op.request['reservationId']));
    }
    return outcome;
  }

  async run(): Promise<Outcome[]> {
    const { concurrency, ops, stop, afterReply } = this.options;
    const more = (): boolean => (ops !== undefined ? this.started < ops : true) && !(stop?.() ?? false);
    const worker = async (): Promise<void> => {
      while (more()) {
        this.started++;
        const outcome = await this.execute(this.next());
        this.outcomes.push(outcome);
        if (outcome.reply && afterReply) await afterReply(outcome);
        const backoff = this.options.backoffAfterUnavailableMs ?? 0;
        if (backoff > 0 && outcome.error && !BUSINESS_REJECTS.has(outcome.error.reason ?? '')) await sleep(backoff);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    return this.outcomes;
  }

  /** Every reservation this workload created (and was told about). */
  knownReservations(): readonly KnownReservation[] {
    return this.reservations;
  }
}

/** Failures other than the given reasons, each also checked against the contract (code, domain, prefix). */
export function unexpectedFailures(
  outcomes: readonly Outcome[],
  allowed: ReadonlySet<string> = BUSINESS_REJECTS,
): string[] {
  const out: string[] = [];
  for (const o of outcomes) {
    if (!o.error) continue;
    const reason = o.error.reason ?? '';
    if (!allowed.has(reason)) {
      out.push(`${o.op.method} ${o.op.ref}: code ${o.error.code} ${o.error.message}`);
      continue;
    }
    expectReason(o.error, reason);
  }
  return out;
}

/** Replays that did not answer replayed=true with the original reply (release: the reservation only). */
export function replayProblems(outcomes: readonly Outcome[]): string[] {
  const out: string[] = [];
  for (const o of outcomes) {
    const original = o.op.replayOf;
    if (!original || !o.reply || !original.reply) continue;
    const { replayed, ...rest } = o.reply;
    const { replayed: _, ...first } = original.reply;
    if (replayed !== true) out.push(`${o.op.method} ${o.op.ref}: replayed=${String(replayed)}`);
    const same =
      o.op.kind === 'release'
        ? JSON.stringify(rest['reservation']) === JSON.stringify(first['reservation'])
        : JSON.stringify(rest) === JSON.stringify(first);
    if (!same)
      out.push(`${o.op.method} ${o.op.ref}: replay ${JSON.stringify(rest)} != original ${JSON.stringify(first)}`);
  }
  return out;
}

/** Per currency: deposits - withdrawals - commits of the calls that succeeded (first time, not replays). */
export function expectedTotals(outcomes: readonly Outcome[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  const add = (currency: string, delta: bigint): void => {
    totals.set(currency, (totals.get(currency) ?? 0n) + delta);
  };
  for (const o of outcomes) {
    if (!o.reply || o.op.replayOf || o.reply['replayed'] !== false) continue;
    if (o.op.kind === 'deposit') add(o.op.currency, o.op.amountMinor);
    else if (o.op.kind === 'withdraw') add(o.op.currency, -o.op.amountMinor);
    else if (o.op.kind === 'commit') add(o.op.currency, -o.op.amountMinor);
    else add(o.op.currency, 0n);
  }
  return totals;
}

/** The event a call writes on its (first) account, to tell whether a failed call took effect. */
export function ownEvent(op: Op): { accountId: string; type: string; ref: string } {
  const types: Record<Op['kind'], string> = {
    deposit: 'FUNDS_DEPOSITED',
    withdraw: 'FUNDS_WITHDRAWN',
    transfer: 'TRANSFER_DEBITED',
    reserve: 'FUNDS_RESERVED',
    amend: 'RESERVATION_AMENDED',
    commit: 'RESERVATION_COMMITTED',
    release: 'RESERVATION_RELEASED',
  };
  return { accountId: op.accounts[0] as string, type: types[op.kind], ref: op.ref };
}

/**
 * The account versions a successful (first-time) reply names, with the reference id the event at
 * that version must carry: [accountId, version, referenceId].
 */
export function acknowledged(outcome: Outcome): [string, number, string][] {
  const reply = outcome.reply;
  if (!reply || outcome.op.replayOf || reply['replayed'] !== false) return [];
  if (outcome.op.kind === 'transfer') {
    return [
      [reply['fromAccount']['accountId'], Number(reply['fromAccount']['version']), outcome.op.ref],
      [reply['toAccount']['accountId'], Number(reply['toAccount']['version']), outcome.op.ref],
    ];
  }
  return [[reply['account']['accountId'], Number(reply['account']['version']), outcome.op.ref]];
}
