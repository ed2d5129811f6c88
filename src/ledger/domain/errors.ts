/**
 * Domain errors with stable reason codes. The reason set is the contract's ErrorReason enum
 * (proto/ledger/v1/ledger.proto); only the transport layer turns a reason into a gRPC status.
 */
export const ERROR_REASONS = [
  'INVALID_ARGUMENT',
  'INVALID_AMOUNT',
  'UNKNOWN_CURRENCY',
  'CURRENCY_MISMATCH',
  'ACCOUNT_NOT_FOUND',
  'ACCOUNT_EXISTS',
  'ACCOUNT_FROZEN',
  'ACCOUNT_CLOSED',
  'ACCOUNT_NOT_EMPTY',
  'INSUFFICIENT_FUNDS',
  'RESERVATION_NOT_FOUND',
  'RESERVATION_NOT_ACTIVE',
  'COMMIT_EXCEEDS_RESERVATION',
  'AMEND_BELOW_COMMITTED',
  'IDEMPOTENCY_CONFLICT',
  'AMOUNT_OUT_OF_RANGE',
  'DEPENDENCY_UNAVAILABLE',
  'OVERLOADED',
] as const;

export type ErrorReason = (typeof ERROR_REASONS)[number];

export function isErrorReason(value: string): value is ErrorReason {
  return (ERROR_REASONS as readonly string[]).includes(value);
}

/** Rejections the caller caused (bad input, business rules); everything else is a fault. */
const FAULT_REASONS: ReadonlySet<ErrorReason> = new Set(['DEPENDENCY_UNAVAILABLE', 'OVERLOADED']);

export class LedgerError extends Error {
  /**
   * @param facts what the caller may act on, by name (e.g. available, requested and currency of
   *   INSUFFICIENT_FUNDS, amounts as decimals of the currency's scale); the transport layer puts
   *   them in the status's ErrorInfo metadata.
   */
  constructor(
    readonly reason: ErrorReason,
    detail: string,
    readonly facts: Readonly<Record<string, string>> = {},
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'LedgerError';
  }

  /** True for business rejects (logged at info), false for dependency faults (error-level). */
  get isBusinessReject(): boolean {
    return !FAULT_REASONS.has(this.reason);
  }
}
