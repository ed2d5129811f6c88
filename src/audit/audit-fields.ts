/** The fields the audit compares: of an account, of a reservation, of a replay record's account view. */
export const ACCOUNT_FIELDS = [
  'accountId',
  'currency',
  'status',
  'balance',
  'held',
  'overdraftLimit',
  'version',
  'openedAtMs',
  'metadata',
] as const;
export const RESERVATION_FIELDS = [
  'reservationId',
  'accountId',
  'currency',
  'amount',
  'committed',
  'status',
  'orderId',
  'expiresAtMs',
  'accountVersion',
] as const;
/** What a replay record's account view carries (opened/metadata too, but they never change). */
export const REPLY_ACCOUNT_FIELDS = ['currency', 'status', 'balance', 'held', 'overdraftLimit', 'version'] as const;
