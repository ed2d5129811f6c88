import { types } from 'node:util';
import { LedgerError } from '../../ledger/domain/errors';

/** SQLSTATE classes that mean our SQL is wrong (a bug), not that Postgres is unavailable. */
const PROGRAMMER_ERROR_CLASSES = ['42', '22', '23'];

/**
 * Maps what a Postgres call threw: our own rejects pass through; a query the database refused
 * for being wrong stays an internal error; everything else (connection refused or lost, pool
 * timeout, statement timeout, shutdown) is DEPENDENCY_UNAVAILABLE, safe to retry.
 */
export function translatePostgresError(error: unknown): unknown {
  // isNativeError, not instanceof: errors made by Node's own socket code come from another realm
  // under some hosts (Jest's VM contexts), where `instanceof Error` is false.
  if (error instanceof LedgerError || !(error instanceof Error || types.isNativeError(error))) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && PROGRAMMER_ERROR_CLASSES.some((c) => code.startsWith(c))) return error;
  return new LedgerError('DEPENDENCY_UNAVAILABLE', `event store: ${error.message}`);
}

export async function guardPostgres<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw translatePostgresError(error);
  }
}
