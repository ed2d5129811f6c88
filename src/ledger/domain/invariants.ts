/**
 * The account invariants of SPEC section 1, as a checker that lists every violation in words.
 * Used by tests, by recovery (after rebuilding an account from the event store) and by audits.
 * Amounts in the messages are minor units.
 */
import { type AccountState, available, remaining } from './account';
import { MAX_MINOR } from './money';

/** Human-readable violations of `a`'s invariants; empty when all hold. */
export function checkInvariants(a: AccountState): string[] {
  const violations: string[] = [];
  const where = `account ${a.accountId}`;

  let sumRemaining = 0n;
  let active = 0;
  for (const [id, r] of a.reservations) {
    const res = `${where} reservation ${id}`;
    if (r.reservationId !== id) violations.push(`${res} is stored under another id (${r.reservationId})`);
    if (r.accountId !== a.accountId) violations.push(`${res} belongs to account ${r.accountId}`);
    if (r.currency !== a.currency)
      violations.push(`${res} currency ${r.currency} differs from the account's ${a.currency}`);
    if (r.amount <= 0n) violations.push(`${res} amount ${r.amount} is not positive`);
    if (r.amount > MAX_MINOR) violations.push(`${res} amount ${r.amount} exceeds MAX_MINOR ${MAX_MINOR}`);
    if (r.committed < 0n || r.committed > r.amount) {
      violations.push(`${res} committed ${r.committed} is outside 0..amount ${r.amount}`);
    }
    if (r.status === 'COMMITTED' && r.committed !== r.amount) {
      violations.push(`${res} is COMMITTED but committed ${r.committed} != amount ${r.amount}`);
    }
    if (r.status === 'ACTIVE') {
      active += 1;
      sumRemaining += remaining(r);
    }
  }

  if (a.held !== sumRemaining) {
    violations.push(
      `${where} held ${a.held} != ${sumRemaining}, the sum of remaining over ${active} ACTIVE reservations`,
    );
  }
  if (a.held < 0n) violations.push(`${where} held ${a.held} is negative`);
  if (a.held > MAX_MINOR) violations.push(`${where} held ${a.held} exceeds MAX_MINOR ${MAX_MINOR}`);
  if (a.balance > MAX_MINOR || a.balance < -MAX_MINOR) {
    violations.push(`${where} balance ${a.balance} is outside +-MAX_MINOR ${MAX_MINOR}`);
  }
  if (a.overdraftLimit < 0n || a.overdraftLimit > MAX_MINOR) {
    violations.push(`${where} overdraft limit ${a.overdraftLimit} is outside 0..MAX_MINOR`);
  }
  const avail = available(a);
  if (avail < -a.overdraftLimit) {
    violations.push(
      `${where} available ${avail} (balance ${a.balance} - held ${a.held}) is below -overdraft limit -${a.overdraftLimit}`,
    );
  }
  if (a.status === 'CLOSED') {
    if (a.balance !== 0n) violations.push(`${where} is CLOSED with balance ${a.balance} (must be 0)`);
    if (active > 0) violations.push(`${where} is CLOSED with ${active} ACTIVE reservation(s)`);
  }
  if (!Number.isSafeInteger(a.version) || a.version < 1)
    violations.push(`${where} version ${a.version} is not a positive integer`);
  return violations;
}
