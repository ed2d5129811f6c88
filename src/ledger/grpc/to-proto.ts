import type { ReservationState } from '../domain/account';
import type { EventType as DomainEventType, LedgerEvent } from '../domain/events';
import type { CurrencyRegistry } from '../domain/currency';
import { formatMinor } from '../domain/money';
import type { AccountSnapshot } from '../ports/ledger-store';
import type { Timestamp } from '../../generated/google/protobuf/timestamp';
import {
  type Account,
  type AccountEvent,
  AccountStatus,
  EventType,
  type Reservation,
  ReservationStatus,
} from '../../generated/ledger/v1/ledger';

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

const EVENT_TYPE: Readonly<Record<DomainEventType, EventType>> = {
  ACCOUNT_OPENED: EventType.EVENT_TYPE_ACCOUNT_OPENED,
  FUNDS_DEPOSITED: EventType.EVENT_TYPE_FUNDS_DEPOSITED,
  FUNDS_WITHDRAWN: EventType.EVENT_TYPE_FUNDS_WITHDRAWN,
  FUNDS_RESERVED: EventType.EVENT_TYPE_FUNDS_RESERVED,
  RESERVATION_AMENDED: EventType.EVENT_TYPE_RESERVATION_AMENDED,
  RESERVATION_COMMITTED: EventType.EVENT_TYPE_RESERVATION_COMMITTED,
  RESERVATION_RELEASED: EventType.EVENT_TYPE_RESERVATION_RELEASED,
  RESERVATION_EXPIRED: EventType.EVENT_TYPE_RESERVATION_EXPIRED,
  TRANSFER_DEBITED: EventType.EVENT_TYPE_TRANSFER_DEBITED,
  TRANSFER_CREDITED: EventType.EVENT_TYPE_TRANSFER_CREDITED,
  ACCOUNT_FROZEN: EventType.EVENT_TYPE_ACCOUNT_FROZEN,
  ACCOUNT_UNFROZEN: EventType.EVENT_TYPE_ACCOUNT_UNFROZEN,
  ACCOUNT_CLOSED: EventType.EVENT_TYPE_ACCOUNT_CLOSED,
};

/** Events that change no amount: their amount is "" on the wire, as the contract says. */
const STATUS_EVENTS: ReadonlySet<DomainEventType> = new Set([
  'ACCOUNT_OPENED',
  'ACCOUNT_FROZEN',
  'ACCOUNT_UNFROZEN',
  'ACCOUNT_CLOSED',
]);

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

  /** One event as the contract's AccountEvent: the ListAccountEvents item and the Kafka record value. */
  event(e: LedgerEvent): AccountEvent {
    const scale = this.currencies.scaleOf(e.currency);
    const d = e.details;
    return {
      eventId: e.eventId,
      accountId: e.accountId,
      version: String(e.version),
      type: EVENT_TYPE[e.type],
      occurredAt: timestampOfMs(e.occurredAtMs),
      currency: e.currency,
      amount: STATUS_EVENTS.has(e.type) ? '' : formatMinor(e.amount, scale),
      balanceAfter: formatMinor(e.balanceAfter, scale),
      heldAfter: formatMinor(e.heldAfter, scale),
      referenceId: e.referenceId,
      reservationId: e.reservationId,
      counterpartyAccountId: e.counterpartyAccountId,
      metadata: e.metadata,
      orderId: d.orderId ?? '',
      expiresAt: d.expiresAtMs ? timestampOfMs(d.expiresAtMs) : undefined,
      final: d.final ?? false,
      reason: d.reason ?? '',
      overdraftLimit: d.overdraftLimit !== undefined ? formatMinor(d.overdraftLimit, scale) : '',
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
