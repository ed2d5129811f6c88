import type { AccountState, ReservationState } from './account';
import { foldEvents } from './account';
import type { EventType, LedgerEvent } from './events';
import { checkInvariants } from './invariants';
import { MAX_MINOR } from './money';

function res(
  id: string,
  amount: bigint,
  committed: bigint,
  status: ReservationState['status'] = 'ACTIVE',
): ReservationState {
  return {
    reservationId: id,
    accountId: 'a1',
    currency: 'USD',
    amount,
    committed,
    status,
    orderId: '',
    expiresAtMs: 0,
    accountVersion: 2,
  };
}

function account(overrides: Partial<AccountState> = {}, reservations: ReservationState[] = []): AccountState {
  return {
    accountId: 'a1',
    currency: 'USD',
    status: 'OPEN',
    balance: 1_000n,
    held: 0n,
    overdraftLimit: 0n,
    version: 5,
    openedAtMs: 1,
    metadata: {},
    reservations: new Map(reservations.map((r) => [r.reservationId, r])),
    ...overrides,
  };
}

describe('checkInvariants', () => {
  it.each<[string, AccountState]>([
    ['an empty open account', account({ balance: 0n })],
    ['a funded account', account()],
    [
      'held equal to the remaining of ACTIVE reservations only',
      account({ held: 350n }, [
        res('r1', 300n, 100n),
        res('r2', 150n, 0n),
        res('r3', 500n, 500n, 'COMMITTED'),
        res('r4', 500n, 20n, 'RELEASED'),
        res('r5', 70n, 0n, 'EXPIRED'),
      ]),
    ],
    [
      'negative available within the overdraft',
      account({ balance: -500n, held: 500n, overdraftLimit: 1_000n }, [res('r', 500n, 0n)]),
    ],
    ['available exactly at -overdraft', account({ balance: -1_000n, overdraftLimit: 1_000n })],
    ['balance at +MAX_MINOR', account({ balance: MAX_MINOR })],
    ['balance at -MAX_MINOR with a full overdraft', account({ balance: -MAX_MINOR, overdraftLimit: MAX_MINOR })],
    ['held at MAX_MINOR', account({ balance: MAX_MINOR, held: MAX_MINOR }, [res('r', MAX_MINOR, 0n)])],
    ['a frozen account', account({ status: 'FROZEN' })],
    [
      'a closed empty account with finished reservations',
      account({ status: 'CLOSED', balance: 0n }, [res('r', 10n, 10n, 'COMMITTED')]),
    ],
  ])('accepts %s', (_name, a) => {
    expect(checkInvariants(a)).toEqual([]);
  });

  it.each<[string, AccountState, RegExp]>([
    [
      'held above the sum of remaining',
      account({ held: 301n }, [res('r1', 300n, 0n)]),
      /held 301 != 300, the sum of remaining over 1 ACTIVE/,
    ],
    ['held below the sum of remaining', account({ held: 100n }, [res('r1', 300n, 100n)]), /held 100 != 200/],
    ['held counting a released reservation', account({ held: 50n }, [res('r1', 50n, 0n, 'RELEASED')]), /held 50 != 0/],
    ['negative held', account({ held: -1n }), /held -1 is negative/],
    [
      'available below zero without overdraft',
      account({ balance: 100n, held: 101n }, [res('r', 101n, 0n)]),
      /available -1 .* below -overdraft limit -0/,
    ],
    [
      'available below -overdraft',
      account({ balance: -1_001n, overdraftLimit: 1_000n }),
      /available -1001 .* below -overdraft limit -1000/,
    ],
    [
      'balance above MAX_MINOR',
      account({ balance: MAX_MINOR + 1n }),
      /balance 9007199254740992 is outside \+-MAX_MINOR/,
    ],
    [
      'balance below -MAX_MINOR',
      account({ balance: -MAX_MINOR - 1n, overdraftLimit: MAX_MINOR }),
      /balance -9007199254740992 is outside/,
    ],
    [
      'held above MAX_MINOR',
      account({ balance: MAX_MINOR, held: MAX_MINOR + 1n }, [res('r', MAX_MINOR + 1n, 0n)]),
      /held 9007199254740992 exceeds MAX_MINOR/,
    ],
    ['negative overdraft limit', account({ overdraftLimit: -1n }), /overdraft limit -1 is outside/],
    ['closed with a balance', account({ status: 'CLOSED', balance: 5n }), /CLOSED with balance 5/],
    [
      'closed with a negative balance',
      account({ status: 'CLOSED', balance: -5n, overdraftLimit: 10n }),
      /CLOSED with balance -5/,
    ],
    [
      'closed with an active reservation',
      account({ status: 'CLOSED', balance: 0n, held: 0n, overdraftLimit: 100n }, [res('r', 10n, 10n)]),
      /CLOSED with 1 ACTIVE reservation/,
    ],
    ['commit above amount', account({}, [res('r', 10n, 11n, 'RELEASED')]), /committed 11 is outside 0..amount 10/],
    [
      'COMMITTED status with a remainder',
      account({}, [res('r', 10n, 5n, 'COMMITTED')]),
      /is COMMITTED but committed 5 != amount 10/,
    ],
    ['zero-sized reservation', account({}, [res('r', 0n, 0n, 'RELEASED')]), /amount 0 is not positive/],
    [
      'reservation of another account',
      account({}, [{ ...res('r', 10n, 10n, 'COMMITTED'), accountId: 'a2' }]),
      /belongs to account a2/,
    ],
    [
      'reservation in another currency',
      account({}, [{ ...res('r', 10n, 10n, 'COMMITTED'), currency: 'EUR' }]),
      /currency EUR differs/,
    ],
    ['version 0', account({ version: 0 }), /version 0 is not a positive integer/],
  ])('reports %s', (_name, a, message) => {
    const violations = checkInvariants(a);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.join('\n')).toMatch(message);
    for (const v of violations) expect(v).toMatch(/^account a1 /);
  });

  it('reports every violation, not only the first', () => {
    const violations = checkInvariants(account({ status: 'CLOSED', balance: -10n, held: 7n }, [res('r', 5n, 0n)]));
    expect(violations).toHaveLength(4); // held mismatch, available below -0, closed with balance, closed with ACTIVE
  });

  it('holds for a folded event history at every version', () => {
    const e = (
      version: number,
      type: EventType,
      amount: bigint,
      balanceAfter: bigint,
      heldAfter: bigint,
      reservationId = '',
    ): LedgerEvent => ({
      eventId: `e${version}`,
      accountId: 'a1',
      version,
      type,
      occurredAtMs: version,
      currency: 'USD',
      amount,
      balanceAfter,
      heldAfter,
      referenceId: '',
      reservationId,
      counterpartyAccountId: '',
      metadata: {},
      details: type === 'ACCOUNT_OPENED' ? { overdraftLimit: 200n } : {},
      traceparent: '',
      idempotencyKey: '',
    });
    const events = [
      e(1, 'ACCOUNT_OPENED', 0n, 0n, 0n),
      e(2, 'FUNDS_DEPOSITED', 1_000n, 1_000n, 0n),
      e(3, 'FUNDS_RESERVED', 1_100n, 1_000n, 1_100n, 'r1'),
      e(4, 'RESERVATION_COMMITTED', 600n, 400n, 500n, 'r1'),
      e(5, 'RESERVATION_AMENDED', 800n, 400n, 200n, 'r1'),
      e(6, 'RESERVATION_COMMITTED', 100n, 300n, 100n, 'r1'),
      e(7, 'RESERVATION_RELEASED', 100n, 300n, 0n, 'r1'),
      e(8, 'TRANSFER_DEBITED', 300n, 0n, 0n),
      e(9, 'ACCOUNT_CLOSED', 0n, 0n, 0n),
    ];
    for (let v = 1; v <= events.length; v++) {
      const s = foldEvents(events.slice(0, v));
      expect(s).toBeDefined();
      expect(checkInvariants(s as AccountState)).toEqual([]);
    }
  });
});
