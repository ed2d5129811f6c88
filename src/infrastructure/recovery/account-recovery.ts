import type { AccountState, ReservationState } from '../../ledger/domain/account';
import type { PostgresEventStore, Querier } from '../postgres/postgres-event-store';
import type { LuaScripts } from '../redis/lua-scripts';
import { accountHash, reservationHash } from '../redis/hash-codec';
import { RedisKeys } from '../redis/redis-keys';

/** What an idempotency key produced, from the event store. */
export interface PriorOutcome {
  /** one per account the call touched (a transfer has two), ordered by version */
  records: { accountId: string; requestHash: string; version: number }[];
}

/**
 * Redis is a rebuildable cache of the event store. When an account is missing from Redis (flush,
 * restart, a new node), it is rebuilt from its latest snapshot and later events before it serves
 * a call; replays of ids older than Redis's retention are answered from the store as well.
 */
export class AccountRecovery {
  private readonly keys: RedisKeys;

  constructor(
    private readonly events: PostgresEventStore,
    private readonly scripts: LuaScripts,
    buckets: number,
    private readonly onRestored: (accountId: string) => void = () => undefined,
  ) {
    this.keys = new RedisKeys(buckets);
  }

  /**
   * Rebuilds an account into Redis if the event store knows it. Returns false if the store has
   * never seen the account; true if it is now in Redis (restored here or already there).
   */
  async restore(accountId: string): Promise<boolean> {
    // Under the account's history lock: the relay cannot store an older batch of this account
    // meanwhile (it would fork the history the rebuilt Redis state continues from).
    return this.events.withAccountLock(accountId, async (q) => {
      const state = await this.events.latestState(accountId, q);
      if (!state) return false;
      await this.write(state, q);
      return true;
    });
  }

  /** Writes a state into Redis (if the account is missing there); `q` reads request hashes. */
  private async write(state: AccountState, q: Querier): Promise<void> {
    const reservations = [...state.reservations.values()].filter((r) => r.status === 'ACTIVE');
    const hashes = await this.events.requestHashes(
      [`open:${state.accountId}`, ...reservations.map((r) => `res:${r.reservationId}`)],
      q,
    );
    const account = accountHash(state, hashes.get(`open:${state.accountId}`) ?? '');
    const restored = await this.scripts.run(
      'restore_account',
      [
        this.keys.account(state.accountId),
        this.keys.expiryIndex(state.accountId),
        ...reservations.map((r) => this.keys.reservation(state.accountId, r.reservationId)),
      ],
      [
        JSON.stringify(account),
        JSON.stringify(reservations.map((r) => reservationHash(r, hashes.get(`res:${r.reservationId}`) ?? ''))),
      ],
    );
    // The claims binding reservation ids to the account live in the ids' own buckets.
    for (const r of reservations) {
      await this.scripts.run(
        'claim',
        [this.keys.claim('res', r.reservationId)],
        [`res|${state.accountId}|`, 'restored', 0],
      );
    }
    if (restored === 'RESTORED') this.onRestored(state.accountId);
  }

  /**
   * After Redis lost its data: rebuilds at once every account with a hold that must still
   * expire (the expiry sweeper only sees what is in Redis); other accounts are rebuilt when
   * first used. Holds whose expiry passed more than a day ago are not looked for. Bounded pages.
   */
  async restoreExpiringHolds(nowMs: number = Date.now()): Promise<number> {
    let after = '';
    let restored = 0;
    for (;;) {
      const page = await this.events.accountsWithExpiringHolds(nowMs - 86_400_000, after, 500);
      for (const accountId of page) {
        await this.restore(accountId);
        restored++;
      }
      const last = page[page.length - 1];
      if (last === undefined || page.length < 500) return restored;
      after = last;
    }
  }

  /** The account of a reservation, from the store (its claim in Redis was lost). */
  async accountOfReservation(reservationId: string): Promise<string | undefined> {
    return (await this.events.reservationHistory(reservationId))?.accountId;
  }

  /** A reservation as it stood after its last event, from the store. */
  async reservationFromHistory(
    reservationId: string,
  ): Promise<{ account: AccountState; reservation: ReservationState } | undefined> {
    const history = await this.events.reservationHistory(reservationId);
    if (!history) return undefined;
    // A snapshot keeps active reservations only: start below the reservation's first event.
    const account = await this.events.foldUpTo(history.accountId, history.last, history.first - 1);
    const reservation = account?.reservations.get(reservationId);
    return account && reservation ? { account, reservation } : undefined;
  }

  async priorOutcome(idempotencyKey: string): Promise<PriorOutcome | undefined> {
    const records = await this.events.idempotency(idempotencyKey);
    return records.length > 0 ? { records } : undefined;
  }

  /** The account as it stood right after `version` (for replays answered from the store). */
  stateAt(accountId: string, version: number): Promise<AccountState | undefined> {
    return this.events.stateAt(accountId, { version });
  }

  /** Same as stateAt, but folding from below `reservationId`'s first event so it is present. */
  async stateWithReservation(
    accountId: string,
    version: number,
    reservationId: string,
  ): Promise<AccountState | undefined> {
    const history = await this.events.reservationHistory(reservationId);
    return this.events.foldUpTo(accountId, version, history ? history.first - 1 : version);
  }
}
