import { types } from 'node:util';
import { LedgerError } from '../../ledger/domain/errors';

/** Replies with which a reachable Redis says it cannot serve right now. */
const UNAVAILABLE_REPLIES = ['OOM', 'BUSY', 'LOADING', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN', 'READONLY'];

function isReplyError(error: Error): boolean {
  return error.name === 'ReplyError';
}

/**
 * Maps what a Redis call threw to what the caller should see: our own rejects pass through;
 * a connection, timeout or "busy" failure is DEPENDENCY_UNAVAILABLE (safe to retry with the same
 * id: the scripts are idempotent); any other Redis reply error is a bug in a script and stays
 * an internal error.
 */
export function translateRedisError(error: unknown): unknown {
  // isNativeError, not instanceof: errors made by Node's own socket code come from another realm
  // under some hosts (Jest's VM contexts), where `instanceof Error` is false.
  if (error instanceof LedgerError || !(error instanceof Error || types.isNativeError(error))) return error;
  if (isReplyError(error) && !UNAVAILABLE_REPLIES.some((prefix) => error.message.startsWith(prefix))) {
    return error;
  }
  return new LedgerError('DEPENDENCY_UNAVAILABLE', `redis: ${error.message}`);
}

export async function guardRedis<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw translateRedisError(error);
  }
}
