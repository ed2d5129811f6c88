import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { LedgerError } from '../../ledger/domain/errors';
import { guardPostgres } from '../postgres/postgres-errors';
import type { AccountRecovery } from '../recovery/account-recovery';
import { BoundedCache } from './bounded-cache';
import type { LuaScripts } from './lua-scripts';
import type { RedisKeys } from './redis-keys';
import { guardRedis } from './redis-errors';

/**
 * Which account holds a reservation: the in-process cache, else the reservation id's claim in
 * Redis ("res|<account_id>|<nonce>"), else the event store (Redis lost the claim; it is bound
 * again). reservation_id -> account_id never changes once claimed, so caching it is always safe.
 */
export class ReservationLocator {
  private readonly cache: BoundedCache<string, string>;

  constructor(
    private readonly redis: Redis,
    private readonly scripts: LuaScripts,
    private readonly keys: RedisKeys,
    cacheMax: number,
    private readonly recovery?: AccountRecovery,
  ) {
    this.cache = new BoundedCache(cacheMax);
  }

  /** A reservation just made on this account (its claim is bound by the same script). */
  remember(reservationId: string, accountId: string): void {
    this.cache.set(reservationId, accountId);
  }

  async accountOf(reservationId: string): Promise<string> {
    const cached = this.cache.get(reservationId);
    if (cached !== undefined) return cached;
    const value = await guardRedis(this.redis.get(this.keys.claim('res', reservationId)));
    let accountId = value?.split('|')[1];
    if (accountId === undefined && this.recovery) {
      accountId = await guardPostgres(this.recovery.accountOfReservation(reservationId));
      if (accountId !== undefined) await this.rebind(reservationId, accountId);
    }
    if (accountId === undefined)
      throw new LedgerError('RESERVATION_NOT_FOUND', `reservation ${reservationId} does not exist`);
    this.cache.set(reservationId, accountId);
    return accountId;
  }

  /** Binds a reservation id to its account again after Redis lost the claim (claim.lua). */
  private async rebind(reservationId: string, accountId: string): Promise<void> {
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
}
