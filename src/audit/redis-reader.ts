import type Redis from 'ioredis';
import { RedisKeys } from '../infrastructure/redis/redis-keys';
import { hasReplyRecord, type RedisAccountRead } from './account-audit';
import type { AccountFold } from './account-fold';

/** Commands per pipeline round trip: bounds one reply's size whatever an account holds. */
const PIPELINE_MAX = 1000;

/** A key the SCAN of Redis found, by what it is. */
export interface ScannedKey {
  kind: 'account' | 'reservation';
  bucket: number;
  id: string;
  key: string;
}

/**
 * Key layout of RedisKeys (`ledger:{b<bucket>}:acct:<id>`, `...:res:<id>`), read backwards. The
 * unit test builds keys with RedisKeys itself, so the two cannot drift apart unnoticed.
 */
const KEY = /^ledger:\{b([0-9]+)\}:(acct|res):(.+)$/;

export function parseScannedKey(key: string): ScannedKey | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  return { kind: m[2] === 'acct' ? 'account' : 'reservation', bucket: Number(m[1]), id: m[3] as string, key };
}

type Command = [string, ...(string | number)[]];

/** The audit's reads of Redis: pipelined per group of accounts, and a SCAN of every key. */
export class AuditRedis {
  readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    buckets: number,
  ) {
    this.keys = new RedisKeys(buckets);
  }

  private async run(commands: Command[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let i = 0; i < commands.length; i += PIPELINE_MAX) {
      const replies = (await this.redis.pipeline(commands.slice(i, i + PIPELINE_MAX)).exec()) ?? [];
      for (const [error, value] of replies) {
        if (error) throw error;
        out.push(value);
      }
    }
    return out;
  }

  /** What Redis holds of each account the folds describe: account, reservations, expiry entries, replay records. */
  async read(folds: readonly AccountFold[]): Promise<Map<string, RedisAccountRead>> {
    const commands: Command[] = [];
    const apply: ((replies: unknown[], at: number) => number)[] = [];
    const out = new Map<string, RedisAccountRead>();
    for (const fold of folds) {
      const state = fold.state;
      if (!state) continue;
      const id = fold.accountId;
      const read = {
        account: {} as Record<string, string>,
        reservations: new Map<string, Record<string, string>>(),
        expiry: new Map<string, string | null>(),
        replies: new Map<string, { requestHash: string | null; reply: string | null }>(),
      };
      out.set(id, read);
      commands.push(['hgetall', this.keys.account(id)]);
      const reservationIds = [...state.reservations.keys()];
      for (const r of reservationIds) commands.push(['hgetall', this.keys.reservation(id, r)]);
      const expiring = [...state.reservations.values()].filter((r) => r.status === 'ACTIVE' && r.expiresAtMs > 0);
      for (const r of expiring) commands.push(['zscore', this.keys.expiryIndex(id), `${id}|${r.reservationId}`]);
      const keys = [...fold.keys.keys()].filter(hasReplyRecord);
      for (const k of keys) {
        const colon = k.indexOf(':');
        commands.push(['hmget', this.keys.idempotency(id, k.slice(0, colon), k.slice(colon + 1)), 'h', 'reply']);
      }
      apply.push((replies, at) => {
        read.account = replies[at++] as Record<string, string>;
        for (const r of reservationIds) read.reservations.set(r, replies[at++] as Record<string, string>);
        for (const r of expiring) read.expiry.set(r.reservationId, replies[at++] as string | null);
        for (const k of keys) {
          const [h, reply] = replies[at++] as [string | null, string | null];
          read.replies.set(k, { requestHash: h, reply });
        }
        return at;
      });
    }
    const replies = await this.run(commands);
    let at = 0;
    for (const fill of apply) at = fill(replies, at);
    return out;
  }

  /** Events waiting in the outbox streams of every bucket (not yet in Postgres). */
  async outboxBacklog(): Promise<number> {
    const replies = await this.run(
      Array.from({ length: this.keys.buckets }, (_, b): Command => ['xlen', this.keys.outboxOfBucket(b)]),
    );
    return replies.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  /** Every account and reservation key, `count` at a time (SCAN: no full key list in memory). */
  async *scan(count: number): AsyncGenerator<ScannedKey[]> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', 'ledger:{b*}:*', 'COUNT', count);
      cursor = next;
      const found = keys.map(parseScannedKey).filter((k): k is ScannedKey => k !== undefined);
      if (found.length > 0) yield found;
    } while (cursor !== '0');
  }

  /** Fields of these hashes (e.g. the acct and ver of scanned keys). */
  async fields(keys: readonly string[], names: readonly string[]): Promise<(string | null)[][]> {
    return (await this.run(keys.map((k): Command => ['hmget', k, ...names]))) as (string | null)[][];
  }
}
