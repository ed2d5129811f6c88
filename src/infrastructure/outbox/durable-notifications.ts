import type Redis from 'ioredis';

export const DURABLE_CHANNEL = 'ledger:durable';

/** The relay's "stored up to" reports, carried to every instance on this Redis. */
export function encodeHeads(heads: ReadonlyMap<string, number>): string {
  return JSON.stringify([...heads]);
}

export function decodeHeads(message: string): Map<string, number> {
  return new Map(JSON.parse(message) as [string, number][]);
}

/**
 * Subscribes a dedicated connection to the relay's reports (a subscribed connection can do
 * nothing else). Pub/sub may drop a message on a reconnect; DurabilityWaiter polls Postgres
 * as well, so a lost report only delays an answer.
 */
export function subscribeToHeads(subscriber: Redis, onHeads: (heads: Map<string, number>) => void): void {
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === DURABLE_CHANNEL) onHeads(decodeHeads(message));
  });
  // Subscribe on every (re)connect: harmless when ioredis already re-subscribed by itself, and
  // needed when Redis was down at start.
  const subscribe = (): void => {
    subscriber.subscribe(DURABLE_CHANNEL).catch(() => undefined);
  };
  subscriber.on('ready', subscribe);
  if (subscriber.status === 'ready') subscribe();
}
