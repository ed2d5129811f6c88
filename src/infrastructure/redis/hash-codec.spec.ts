import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReservationState } from '../../ledger/domain/account';
import type { AccountSnapshot } from '../../ledger/ports/ledger-store';
import {
  ACCOUNT_HASH_FIELDS,
  RESERVATION_HASH_FIELDS,
  accountHash,
  reservationHash,
  toAccount,
  toReservation,
} from './hash-codec';
import { luaDirectory } from './lua-scripts';

/** A Lua list of names in lua/lib/prelude.lua, e.g. `local ACCOUNT_FIELDS = { 'id', 'cur' }`. */
function luaList(name: string): string[] {
  const prelude = readFileSync(join(luaDirectory(), 'lib/prelude.lua'), 'utf8');
  const body = new RegExp(`local ${name} = \\{([^}]*)\\}`).exec(prelude)?.[1];
  if (body === undefined) throw new Error(`${name} not found in prelude.lua`);
  return [...body.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

const ACCOUNT: AccountSnapshot = {
  accountId: 'acct-1',
  currency: 'USD',
  status: 'FROZEN',
  balance: -1234567890123n,
  held: 42n,
  overdraftLimit: 9_007_199_254_740_991n,
  version: 17,
  openedAtMs: 1_765_000_000_123,
  metadata: { desk: 'equities', note: 'quote " and \\ backslash' },
};

const RESERVATION: ReservationState = {
  reservationId: 'res-1',
  accountId: 'acct-1',
  currency: 'USD',
  amount: 1000n,
  committed: 250n,
  status: 'ACTIVE',
  orderId: 'order-7',
  expiresAtMs: 1_765_000_060_000,
  accountVersion: 16,
};

describe('the Redis hash codec', () => {
  it('names the same fields as the scripts (lua/lib/prelude.lua), in the same order', () => {
    expect(luaList('ACCOUNT_FIELDS')).toEqual([...ACCOUNT_HASH_FIELDS]);
    expect(luaList('RESERVATION_FIELDS')).toEqual([...RESERVATION_HASH_FIELDS]);
  });

  it('reads back what it writes, the request hash aside', () => {
    const account = accountHash(ACCOUNT, 'h-open');
    expect(account.h).toBe('h-open');
    expect(toAccount(account)).toEqual(ACCOUNT);
    const reservation = reservationHash(RESERVATION, 'h-res');
    expect(reservation.h).toBe('h-res');
    expect(toReservation(reservation)).toEqual(RESERVATION);
  });

  it('refuses a status it does not know instead of passing it on', () => {
    expect(() => toAccount({ ...accountHash(ACCOUNT, ''), st: 'GONE' })).toThrow(/account status "GONE"/);
    expect(() => toReservation({ ...reservationHash(RESERVATION, ''), st: 'LOST' })).toThrow(/reservation status/);
  });
});
