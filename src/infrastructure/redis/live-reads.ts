import type Redis from 'ioredis';
import { LedgerError } from '../../ledger/domain/errors';
import type { AccountSnapshot, ReservationResult } from '../../ledger/ports/ledger-store';
import type { RedisKeys } from './redis-keys';
import { guardRedis } from './redis-errors';
import { type AccountView, type ReservationView, toAccount, toReservation } from './hash-codec';

/** Reads of the live state in Redis (no script: a read changes nothing and needs no atomic step). */
export class LiveReads {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async account(accountId: string): Promise<AccountSnapshot> {
    const fields = await guardRedis(this.redis.hgetall(this.keys.account(accountId)));
    if (fields['id'] === undefined) throw new LedgerError('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`);
    return toAccount(fields as unknown as AccountView);
  }

  async reservation(accountId: string, reservationId: string): Promise<ReservationResult> {
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
      reservation: toReservation(reservationFields as unknown as ReservationView),
      account: toAccount(accountFields as unknown as AccountView),
      replayed: false,
      events: [],
    };
  }
}
