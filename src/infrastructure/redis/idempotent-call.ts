import { randomUUID } from 'node:crypto';
import { type IdFilterOptions, idFilterBits, idFilterSlot } from './id-filter';
import type { RedisKeys } from './redis-keys';

/** The id a mutating call is keyed by, as lua/lib/idempotent.lua needs it. */
export interface IdempotentTarget {
  /** the event store's key: "res:<id>", "tx:<id>", "open:<account>", "commit:<scoped>", ... */
  idempotencyKey: string;
  /** the account the call is on */
  accountId: string;
  /** the key whose presence means Redis can answer this id itself (its replay record) */
  recordKey: string;
  /** client-wide ids are bound to the account they were first used on */
  claim?: { kind: 'tx' | 'res'; id: string; ttlSeconds: number };
}

/** The script asked for an event store lookup first (lua/lib/idempotent.lua: CHECK_PRIOR). */
export class PriorCheckNeeded extends Error {
  constructor() {
    super('the id filter cannot rule this id out: look it up in the event store');
  }
}

/** The KEYS and ARGV that lua/lib/idempotent.lua appends to a wrapped script's own. */
export function idempotentKeys(keys: RedisKeys, target: IdempotentTarget): string[] {
  const slot = idFilterSlot(keys, target.idempotencyKey, target.accountId);
  const claimKey = target.claim ? keys.claim(target.claim.kind, target.claim.id) : slot.filterKey;
  return [claimKey, slot.filterKey, slot.readyKey, target.recordKey];
}

export function idempotentArgs(target: IdempotentTarget, priorChecked: boolean, filter: IdFilterOptions): string[] {
  const claim = target.claim;
  const owner = claim ? `${claim.kind}|${target.accountId}|` : '';
  const tail = [
    owner,
    // The nonce tells this call's claim from an earlier one's (claim.lua, used on recovery).
    claim ? randomUUID().slice(0, 8) : '',
    String(claim?.ttlSeconds ?? 0),
    priorChecked ? '1' : '0',
    ...idFilterBits(target.idempotencyKey, filter),
  ];
  tail.push(String(tail.length + 1));
  return tail;
}
