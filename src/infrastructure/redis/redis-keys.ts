import { crc32 } from 'node:zlib';

/**
 * Where things live in Redis. Accounts are spread over a fixed number of buckets; every key of
 * one account (its hash, reservations, idempotency records, expiry index, outbox stream) carries
 * the bucket's hash tag, so a single-account script touches one Redis Cluster slot.
 */
export class RedisKeys {
  constructor(readonly buckets: number) {}

  bucketOf(id: string): number {
    return crc32(id) % this.buckets;
  }

  private tag(id: string): string {
    return `ledger:{b${this.bucketOf(id)}}`;
  }

  account(accountId: string): string {
    return `${this.tag(accountId)}:acct:${accountId}`;
  }

  /** A reservation lives in its account's bucket. */
  reservation(accountId: string, reservationId: string): string {
    return `${this.tag(accountId)}:res:${reservationId}`;
  }

  /** Replay record of one idempotent call on one account. */
  idempotency(accountId: string, kind: string, key: string): string {
    return `${this.tag(accountId)}:idem:${kind}:${key}`;
  }

  expiryIndex(accountId: string): string {
    return `${this.tag(accountId)}:expiry`;
  }

  outbox(accountId: string): string {
    return `${this.tag(accountId)}:outbox`;
  }

  /** Which account a client id (transaction or reservation id) belongs to; in the id's own bucket. */
  claim(kind: 'tx' | 'res', id: string): string {
    return `${this.tag(id)}:claim:${kind}:${id}`;
  }

  /** Bloom filter of the idempotency keys that ever produced events (lua/lib/idempotent.lua). */
  idFilterOfBucket(bucket: number): string {
    return `ledger:{b${bucket}}:idfilter`;
  }

  /** Present once the bucket's id filter holds every id of the event store (IdFilterRebuild). */
  idFilterReadyOfBucket(bucket: number): string {
    return `ledger:{b${bucket}}:idfilter:ready`;
  }

  expiryIndexOfBucket(bucket: number): string {
    return `ledger:{b${bucket}}:expiry`;
  }

  outboxOfBucket(bucket: number): string {
    return `ledger:{b${bucket}}:outbox`;
  }

  /** Keys of an account found through a bucket-level index (the expiry sweeper). */
  accountInBucket(bucket: number, accountId: string): string {
    return `ledger:{b${bucket}}:acct:${accountId}`;
  }

  reservationInBucket(bucket: number, reservationId: string): string {
    return `ledger:{b${bucket}}:res:${reservationId}`;
  }
}
