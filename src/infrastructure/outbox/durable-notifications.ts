import type Redis from 'ioredis';

export const DURABLE_CHANNEL = 'ledger:durable';

/** The relay's "stored" reports (event ids), carried to every instance on this Redis. */
export function encodeStored(eventIds: readonly string[]): string {
  return JSON.stringify(eventIds);
}

export function decodeStored(message: string): string[] {
  const value: unknown = JSON.parse(message);
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * Subscribes a dedicated connection to the relay's reports (a subscribed connection can do
 * nothing else). Pub/sub may drop a message on a reconnect; DurabilityWaiter polls Postgres
 * as well, so a lost report only delays an answer.
 */
export function subscribeToStored(subscriber: Redis, onStored: (eventIds: string[]) => void): void {
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === DURABLE_CHANNEL) onStored(decodeStored(message));
  });
  // Subscribe on every (re)connect: harmless when ioredis already re-subscribed by itself, and
  // needed when Redis was down at start.
  const subscribe = (): void => {
    subscriber.subscribe(DURABLE_CHANNEL).catch(() => undefined);
  };
  subscriber.on('ready', subscribe);
  if (subscriber.status === 'ready') subscribe();
}
