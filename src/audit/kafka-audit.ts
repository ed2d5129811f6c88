/**
 * The topic against the event store, record by record: each record, deduplicated by event id,
 * must be its stored event (key, headers and every field of the AccountEvent value), and each
 * account's records must run v1, v2, ... without a gap in one partition. Then the fold of an
 * account's Kafka events is the fold of its stored events; completeness (the stream reaches the
 * stored version) is checked once the topic is read. Memory: one entry per account.
 */
import { AccountEvent } from '../generated/ledger/v1/ledger';
import { canonical, type Difference } from './differences';

export interface TopicRecord {
  partition: number;
  offset: string;
  key: string;
  headers: Readonly<Record<string, string>>;
  value: Buffer;
}

/** A stored event as the publisher must have sent it. */
export interface ExpectedRecord {
  accountId: string;
  version: number;
  type: string;
  traceparent: string;
  value: AccountEvent;
}

interface Stream {
  last: number;
  partition: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class KafkaAudit {
  records = 0;
  duplicates = 0;
  private readonly streams = new Map<string, Stream>();

  /** The event id of a record, for the store lookup (undefined: the value does not decode). */
  static eventIdOf(record: TopicRecord): string | undefined {
    try {
      const id = AccountEvent.decode(record.value).eventId;
      return UUID.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** One record, in topic order per partition, with the stored event of its id (if any). */
  accept(record: TopicRecord, expected: ExpectedRecord | undefined): Difference[] {
    this.records++;
    const where = `kafka[${record.partition}/${record.offset}]`;
    let event: AccountEvent;
    try {
      event = AccountEvent.decode(record.value);
    } catch (error) {
      const detail = `value does not decode: ${error instanceof Error ? error.message : String(error)}`;
      return [{ account: record.key, field: where, detail }];
    }
    if (!expected) {
      return [
        {
          account: event.accountId || record.key,
          field: `${where}.event_id`,
          detail: `event ${event.eventId} v${event.version} is on the topic but not in postgres`,
        },
      ];
    }
    const out: Difference[] = [];
    const account = expected.accountId;
    const at = `kafka[v${expected.version}]`;
    if (record.key !== account)
      out.push({ account, field: `${at}.key`, detail: `kafka ${record.key} != postgres ${account}` });
    const headers = { 'event-id': event.eventId, 'event-type': expected.type, traceparent: expected.traceparent };
    for (const [name, want] of Object.entries(headers)) {
      const got = record.headers[name];
      if (got !== want)
        out.push({ account, field: `${at}.headers.${name}`, detail: `kafka ${got ?? 'none'} != postgres ${want}` });
    }
    for (const field of Object.keys(expected.value) as (keyof AccountEvent)[]) {
      const got = canonical(event[field]);
      const want = canonical(expected.value[field]);
      if (got !== want) out.push({ account, field: `${at}.${field}`, detail: `kafka ${got} != postgres ${want}` });
    }
    out.push(...this.order(account, expected.version, record.partition));
    return out;
  }

  private order(account: string, version: number, partition: number): Difference[] {
    const stream = this.streams.get(account) ?? { last: 0, partition };
    this.streams.set(account, stream);
    const out: Difference[] = [];
    if (stream.partition !== partition) {
      out.push({
        account,
        field: 'kafka.partition',
        detail: `v${version} in partition ${partition}, earlier events in ${stream.partition} (per-account order lost)`,
      });
    }
    if (version <= stream.last) {
      // An at-least-once re-send: the same event (checked above), already counted.
      this.duplicates++;
    } else {
      if (version !== stream.last + 1) {
        out.push({ account, field: 'kafka.version', detail: `v${version} follows v${stream.last} (gap or reorder)` });
      }
      stream.last = version;
    }
    return out;
  }

  /** The last version seen per account (for the completeness check against the store). */
  lastVersion(account: string): number {
    return this.streams.get(account)?.last ?? 0;
  }

  accounts(): IterableIterator<string> {
    return this.streams.keys();
  }

  /**
   * Completeness of one account: the stream reached the stored version, unless the event right
   * after the last published one is still after the publisher's watermark (`queued`).
   */
  completeness(account: string, storedVersion: number, queued: boolean): Difference[] {
    const last = this.lastVersion(account);
    if (last >= storedVersion || queued) return [];
    return [
      {
        account,
        field: 'kafka.version',
        detail: `kafka reaches v${last}, postgres v${storedVersion}, and v${last + 1} is not waiting to be published (after the watermark)`,
      },
    ];
  }
}
