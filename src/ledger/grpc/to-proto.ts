import type { ReservationState } from '../domain/account';
import type { CurrencyRegistry } from '../domain/currency';
import { formatMinor } from '../domain/money';
import type { AccountSnapshot } from '../ports/ledger-store';
import type { Timestamp } from '../../generated/google/protobuf/timestamp';
import { type Account, AccountStatus, type Reservation, ReservationStatus } from '../../generated/ledger/v1/ledger';

const ACCOUNT_STATUS = {
  OPEN: AccountStatus.ACCOUNT_STATUS_OPEN,
  FROZEN: AccountStatus.ACCOUNT_STATUS_FROZEN,
  CLOSED: AccountStatus.ACCOUNT_STATUS_CLOSED,
} as const;

const RESERVATION_STATUS = {
  ACTIVE: ReservationStatus.RESERVATION_STATUS_ACTIVE,
  COMMITTED: ReservationStatus.RESERVATION_STATUS_COMMITTED,
  RELEASED: ReservationStatus.RESERVATION_STATUS_RELEASED,
  EXPIRED: ReservationStatus.RESERVATION_STATUS_EXPIRED,
} as const;

export function timestampOfMs(ms: number): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** Domain results to contract messages: minor units become decimal strings of the currency's scale. */
export class ProtoMapper {
  constructor(private readonly currencies: CurrencyRegistry) {}

  account(a: AccountSnapshot): Account {
    const scale = this.currencies.scaleOf(a.currency);
    return {
      accountId: a.accountId,
      currency: a.currency,
      status: ACCOUNT_STATUS[a.status],
      balance: formatMinor(a.balance, scale),
      held: formatMinor(a.held, scale),
      available: formatMinor(a.balance - a.held, scale),
      overdraftLimit: formatMinor(a.overdraftLimit, scale),
      version: String(a.version),
      openedAt: timestampOfMs(a.openedAtMs),
      metadata: a.metadata,
    };
  }

  reservation(r: ReservationState): Reservation {
    const scale = this.currencies.scaleOf(r.currency);
    return {
      reservationId: r.reservationId,
      accountId: r.accountId,
      currency: r.currency,
      amount: formatMinor(r.amount, scale),
      committed: formatMinor(r.committed, scale),
      remaining: formatMinor(r.status === 'ACTIVE' ? r.amount - r.committed : 0n, scale),
      status: RESERVATION_STATUS[r.status],
      orderId: r.orderId,
      expiresAt: r.expiresAtMs > 0 ? timestampOfMs(r.expiresAtMs) : undefined,
      accountVersion: String(r.accountVersion),
    };
  }
}
