import type { LedgerEvent } from '../../ledger/domain/events';

export interface KafkaPublisherOptions {
  topic: string;
  partitions: number;
  /** bound on events in one produce request */
  batchMax: number;
  /** with nothing handed over, look in Postgres for events stored by another instance's relay this often */
  idlePollMs: number;
  /**
   * ... or, while this process's relay leads (everything it stores is handed over), this often:
   * only a hand-off dropped at the end of a burst is found this way
   */
  safetyPollMs: number;
  retryBackoffMaxMs: number;
  /** bound on committed events handed over and not yet published; past it a batch is read back from Postgres later */
  handoffMax: number;
  /**
   * A produce request follows the previous one after at least this long, unless a full request
   * (batchMax) is waiting: the broker's cost is mostly per request, so a steady stream goes out
   * in few large requests. Bounds how much later than Postgres an event reaches Kafka.
   */
  lingerMs: number;
}

export interface PublisherObserver {
  produced(count: number, seconds: number): void;
  failure(error: unknown, attempt: number): void;
  backlog(pending: number, oldestAgeSeconds: number): void;
  /**
   * Runs one produce request inside a span linked to the relay batches that committed its events
   * (`batchTraces`, W3C traceparents) and to the calls that made them.
   */
  traced<T>(events: readonly LedgerEvent[], batchTraces: readonly string[], send: () => Promise<T>): Promise<T>;
}
