import type Redis from 'ioredis';

export const DURABLE_CHANNEL = 'ledger:durable';

/**
 * Marks the element of a report that carries the batch span's traceparent. A report stays a
 * JSON array of strings, so an instance of the previous version reads the marked element as one
 * more event id that nobody waits for, and still wakes its calls (rolling upgrades).
 */
const BATCH_MARK = 'batch:';

export interface StoredReport {
  eventIds: string[];
  /** traceparent of the relay batch span that stored them ("" when not traced) */
  batch: string;
}

/** The relay's "stored" reports (event ids), carried to every instance on this Redis. */
export function encodeStored(eventIds: readonly string[], batch = ''): string {
  return JSON.stringify(batch === '' ? eventIds : [...eventIds, `${BATCH_MARK}${batch}`]);
}

export function decodeStored(message: string): StoredReport {
  const report: StoredReport = { eventIds: [], batch: '' };
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return report; // not ours: a waiter's poll covers whatever it was about
  }
  if (!Array.isArray(value)) return report;
  for (const item of value) {
    if (typeof item !== 'string') continue;
    if (item.startsWith(BATCH_MARK)) report.batch = item.slice(BATCH_MARK.length);
    else report.eventIds.push(item);
  }
  return report;
}

/**
 * Subscribes a dedicated connection to the relay's reports (a subscribed connection can do
 * nothing else). Pub/sub may drop a message on a reconnect; DurabilityWaiter polls Postgres
 * as well, so a lost report only delays an answer.
 */
export function subscribeToStored(subscriber: Redis, onStored: (report: StoredReport) => void): void {
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
