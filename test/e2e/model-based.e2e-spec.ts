import fc from 'fast-check';
import { LedgerError } from '../../src/ledger/domain/errors';
import type { RedisLedgerStore } from '../../src/infrastructure/redis/redis-ledger-store';
import { type ScriptStore, startScriptStore } from '../support/script-store';

/**
 * Random operation sequences on one account, run against the real scripts in a real Redis and
 * against a plain in-memory model of the rules (below), compared after every step: the outcome
 * (applied, replayed or the reject reason) and balance, held and version. fast-check shrinks a
 * failing sequence to a short one and prints its seed.
 */

type Op =
  | { kind: 'deposit'; amount: bigint }
  | { kind: 'withdraw'; amount: bigint }
  | { kind: 'reserve'; slot: number; amount: bigint }
  | { kind: 'commit'; slot: number; amount: bigint; final: boolean }
  | { kind: 'release'; slot: number }
  | { kind: 'retry' };

interface Held {
  amount: bigint;
  committed: bigint;
  status: 'ACTIVE' | 'COMMITTED' | 'RELEASED';
}

/** The rules, as plainly as they can be written (overdraft 0, one currency). */
class Model {
  balance = 0n;
  held = 0n;
  version = 1; // AccountOpened
  readonly reservations = new Map<number, Held>();

  apply(op: Exclude<Op, { kind: 'retry' }>, reserveAmountOf: (slot: number) => bigint | undefined): string {
    const available = this.balance - this.held;
    switch (op.kind) {
      case 'deposit':
        this.balance += op.amount;
        this.version++;
        return 'OK';
      case 'withdraw':
        if (available < op.amount) return 'INSUFFICIENT_FUNDS';
        this.balance -= op.amount;
        this.version++;
        return 'OK';
      case 'reserve': {
        const first = reserveAmountOf(op.slot);
        if (first !== undefined) return first === op.amount ? 'REPLAY' : 'IDEMPOTENCY_CONFLICT';
        if (available < op.amount) return 'INSUFFICIENT_FUNDS';
        this.reservations.set(op.slot, { amount: op.amount, committed: 0n, status: 'ACTIVE' });
        this.held += op.amount;
        this.version++;
        return 'OK';
      }
      case 'commit': {
        const r = this.reservations.get(op.slot);
        if (!r) return 'RESERVATION_NOT_FOUND';
        if (r.status !== 'ACTIVE') return 'RESERVATION_NOT_ACTIVE';
        if (op.amount > r.amount - r.committed) return 'COMMIT_EXCEEDS_RESERVATION';
        r.committed += op.amount;
        this.held -= op.amount;
        this.balance -= op.amount;
        this.version++;
        if (r.committed === r.amount) r.status = 'COMMITTED';
        else if (op.final) {
          this.held -= r.amount - r.committed;
          r.status = 'RELEASED';
          this.version++;
        }
        return 'OK';
      }
      case 'release': {
        const r = this.reservations.get(op.slot);
        if (!r) return 'RESERVATION_NOT_FOUND';
        if (r.status === 'RELEASED') return 'REPLAY';
        if (r.status !== 'ACTIVE') return 'RESERVATION_NOT_ACTIVE';
        this.held -= r.amount - r.committed;
        r.status = 'RELEASED';
        this.version++;
        return 'OK';
      }
    }
  }
}

const amount = fc.bigInt({ min: 1n, max: 500n });
const slot = fc.integer({ min: 0, max: 2 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('deposit' as const), amount }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('withdraw' as const), amount }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('reserve' as const), slot, amount }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('commit' as const), slot, amount, final: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('release' as const), slot }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'retry' as const }), weight: 2 },
);
/** Sequences start funded (most reserves hold), then anything goes. */
const sequence = fc.tuple(
  fc.bigInt({ min: 0n, max: 2000n }),
  fc.array(op, { minLength: 5, maxLength: 60, size: 'medium' }),
);

describe('the Lua scripts against an in-memory model of the rules (random sequences, real Redis)', () => {
  let store: RedisLedgerStore;
  let scriptStore: ScriptStore | undefined;
  const ctx = { traceparent: '' };
  let run = 0;

  beforeAll(async () => {
    scriptStore = await startScriptStore({}, { filtersReady: true });
    store = scriptStore.store;
  });

  afterAll(async () => {
    await scriptStore?.close();
  });

  /** What the store answered: OK, REPLAY or the reject reason. */
  async function outcome(call: Promise<{ replayed: boolean }>): Promise<string> {
    try {
      return (await call).replayed ? 'REPLAY' : 'OK';
    } catch (error) {
      if (error instanceof LedgerError) return error.reason;
      throw error;
    }
  }

  /** outcomes seen, per kind of step: the sequences must reach every rule, not only rejects */
  const seen = new Map<string, number>();

  it('agrees with the model after every step of 150 random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(sequence, async ([funding, rest]) => {
        const ops: Op[] = funding > 0n ? [{ kind: 'deposit', amount: funding }, ...rest] : rest;
        const tag = `m${++run}`;
        const accountId = `${tag}-acct`;
        await store.openAccount({ accountId, currency: 'USD', overdraftLimit: 0n, metadata: {} }, ctx);
        const model = new Model();
        const reserved = new Map<number, bigint>(); // slot -> amount of its first Reserve (the id is taken)
        let last: { op: Exclude<Op, { kind: 'retry' }>; id: number } | undefined;
        let lastOutcome: string | undefined;
        let step = 0;
        for (const next of ops) {
          // A retry repeats the previous call with the same id: the store must answer it as a replay
          // (or the same reject), the model must not change.
          const current = next.kind === 'retry' ? last : { op: next, id: ++step };
          if (!current) continue;
          const { op: o, id } = current;
          const resId = (s: number) => `${tag}-res-${s}`;
          let got: string;
          if (o.kind === 'deposit' || o.kind === 'withdraw') {
            const input = {
              transactionId: `${tag}-tx-${id}`,
              accountId,
              currency: 'USD',
              amount: o.amount,
              metadata: {},
            };
            got = await outcome(o.kind === 'deposit' ? store.deposit(input, ctx) : store.withdraw(input, ctx));
          } else if (o.kind === 'reserve') {
            got = await outcome(
              store.reserve(
                {
                  reservationId: resId(o.slot),
                  accountId,
                  currency: 'USD',
                  amount: o.amount,
                  orderId: '',
                  ttlSeconds: 0,
                },
                ctx,
              ),
            );
          } else if (o.kind === 'commit') {
            got = await outcome(
              store.commit(
                { reservationId: resId(o.slot), commitId: `c${id}`, currency: 'USD', amount: o.amount, final: o.final },
                ctx,
              ),
            );
          } else {
            got = await outcome(store.release({ reservationId: resId(o.slot), reason: 'model' }, ctx));
          }
          let expected: string;
          if (next.kind === 'retry') {
            // Applied before: now a replay; rejected before: rejected again the same way, except
            // that the state may have moved on for a release (a released one replays).
            expected = lastOutcome === 'OK' || lastOutcome === 'REPLAY' ? 'REPLAY' : lastOutcome!;
          } else {
            expected = model.apply(o, (s) => reserved.get(s));
            if (o.kind === 'reserve' && expected === 'OK') reserved.set(o.slot, o.amount);
          }
          const account = await store.getAccount(accountId);
          expect({ step: next, got, balance: account.balance, held: account.held, version: account.version }).toEqual({
            step: next,
            got: expected,
            balance: model.balance,
            held: model.held,
            version: model.version,
          });
          last = current;
          lastOutcome = got;
          const key = `${next.kind === 'commit' && next.final ? 'final-commit' : next.kind} ${got}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }),
      { numRuns: 150 },
    );
    // Every rule was reached, not only the rejects (a model that agrees by never applying
    // anything would prove nothing).
    for (const reached of [
      'withdraw OK',
      'withdraw INSUFFICIENT_FUNDS',
      'reserve OK',
      'reserve IDEMPOTENCY_CONFLICT',
      'reserve INSUFFICIENT_FUNDS',
      'commit OK',
      'final-commit OK',
      'commit COMMIT_EXCEEDS_RESERVATION',
      'commit RESERVATION_NOT_ACTIVE',
      'release OK',
      'release REPLAY',
      'retry REPLAY',
    ]) {
      expect([reached, seen.get(reached) ?? 0]).not.toEqual([reached, 0]);
    }
  }, 180_000);
});
