import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { AccountEvent, EventType as ProtoEventType } from '../../src/generated/ledger/v1/ledger';
import type { EventType, LedgerEvent } from '../../src/ledger/domain/events';

/** One record of the topic as an independent consumer (Debian's kcat) read it. */
export interface KafkaRecord {
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  value: Buffer;
  event: AccountEvent;
}

/** The kcat output format: text fields separated by tabs, then the value framed by its length. */
const FORMAT = '%p\t%o\t%k\t%h\t%R%s';

function parseHeaders(csv: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (csv === '') return headers;
  for (const pair of csv.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) headers[pair] = '';
    else headers[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return headers;
}

/** Splits kcat's framed output into records (keys and headers never hold a tab: ids are [A-Za-z0-9._:-]). */
export function parseFramed(out: Buffer): KafkaRecord[] {
  const records: KafkaRecord[] = [];
  let pos = 0;
  while (pos < out.length) {
    const fields: string[] = [];
    for (let i = 0; i < 4; i++) {
      const tab = out.indexOf(0x09, pos);
      if (tab < 0) throw new Error(`truncated kcat output at byte ${pos}`);
      fields.push(out.subarray(pos, tab).toString('utf8'));
      pos = tab + 1;
    }
    const length = out.readInt32BE(pos);
    pos += 4;
    if (length < 0) throw new Error(`a record with a NULL value at ${fields[0]}/${fields[1]}`);
    const value = Buffer.from(out.subarray(pos, pos + length));
    pos += length;
    records.push({
      partition: Number(fields[0]),
      offset: Number(fields[1]),
      key: fields[2] as string,
      headers: parseHeaders(fields[3] as string),
      value,
      event: AccountEvent.decode(value),
    });
  }
  return records;
}

/**
 * Reads the whole topic from the beginning to its current end with kcat (a consumer that shares
 * nothing with the service: not kafkajs, no consumer group). Bounded: kcat is killed after
 * `timeoutMs`. Records come per partition in offset order.
 */
export function readTopic(topic: string, timeoutMs = 60_000): Promise<KafkaRecord[]> {
  const brokers = process.env['LEDGER_KAFKA_BROKERS'] ?? '127.0.0.1:9092';
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', FORMAT], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`kcat exited with ${code ?? signal}: ${Buffer.concat(err).toString('utf8').slice(0, 2000)}`));
        return;
      }
      try {
        resolve(parseFramed(Buffer.concat(out)));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/**
 * Reads the topic until `done(records)` holds or the deadline passes (bounded poll); returns the
 * last read either way, so the caller's exact assertions report what is missing.
 */
export async function readTopicUntil(
  topic: string,
  done: (records: KafkaRecord[]) => boolean,
  withinMs = 60_000,
): Promise<KafkaRecord[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    let records: KafkaRecord[] = [];
    try {
      records = await readTopic(topic);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (done(records) || Date.now() > deadline) return records;
    await sleep(250);
  }
}

/** Deletes a suite's topic (best effort: the broker may be gone in an outage suite's failure). */
export async function deleteTopic(topic: string): Promise<void> {
  const brokers = (process.env['LEDGER_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
  const admin = new Kafka({
    clientId: 'ledger-tests',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 },
  }).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [topic], timeout: 5000 });
  } catch {
    // a leftover test topic is harmless
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Per key, the records in offset order (one key lives in one partition, so this is produce order). */
export function recordsByKey(records: readonly KafkaRecord[]): Map<string, KafkaRecord[]> {
  const out = new Map<string, KafkaRecord[]>();
  const sorted = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const r of sorted) {
    const list = out.get(r.key) ?? [];
    list.push(r);
    out.set(r.key, list);
  }
  return out;
}

/** What a consumer keeps: the first record of every event_id, in arrival order. */
export function deduplicated(records: readonly KafkaRecord[]): KafkaRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    if (seen.has(r.event.eventId)) return false;
    seen.add(r.event.eventId);
    return true;
  });
}

/** Decimal string of a currency's scale -> integer minor units (exact; "" -> 0n). */
export function toMinor(text: string, scale: number): bigint {
  if (text === '') return 0n;
  const match = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  const fraction = match[3] ?? '';
  if (fraction.length !== scale) throw new Error(`${text} does not have exactly ${scale} decimals`);
  const minor = BigInt(`${match[2]}${fraction}`);
  return match[1] === '-' ? -minor : minor;
}

/** Integer minor units -> the decimal string of the currency's scale. */
export function fromMinor(minor: bigint, scale: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : digits.slice(0, digits.length - scale);
  const body = scale === 0 ? whole : `${whole}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${body}` : body;
}

export function timestampMs(ts: { seconds: string; nanos: number } | undefined): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000) : 0;
}

/** The contract's type name without its prefix, e.g. EVENT_TYPE_FUNDS_DEPOSITED -> FUNDS_DEPOSITED. */
export function eventTypeName(type: ProtoEventType): EventType {
  const name = ProtoEventType[type];
  if (name === undefined || !name.startsWith('EVENT_TYPE_') || name === 'EVENT_TYPE_UNSPECIFIED') {
    throw new Error(`not an event type: ${type}`);
  }
  return name.slice('EVENT_TYPE_'.length) as EventType;
}

/** A Kafka AccountEvent as the domain's LedgerEvent (for foldEvents), with the scales the test uses. */
export function ledgerEventOfProto(e: AccountEvent, scales: ReadonlyMap<string, number>): LedgerEvent {
  const scale = scales.get(e.currency);
  if (scale === undefined) throw new Error(`no scale for ${e.currency}`);
  const type = eventTypeName(e.type);
  const details: LedgerEvent['details'] = {};
  if (type === 'ACCOUNT_OPENED') details.overdraftLimit = toMinor(e.overdraftLimit, scale);
  if (type === 'FUNDS_RESERVED') {
    details.orderId = e.orderId;
    details.expiresAtMs = timestampMs(e.expiresAt);
  }
  if (type === 'RESERVATION_COMMITTED') details.final = e.final;
  if (e.reason !== '') details.reason = e.reason;
  return {
    eventId: e.eventId,
    accountId: e.accountId,
    version: Number(e.version),
    type,
    occurredAtMs: timestampMs(e.occurredAt),
    currency: e.currency,
    amount: toMinor(e.amount, scale),
    balanceAfter: toMinor(e.balanceAfter, scale),
    heldAfter: toMinor(e.heldAfter, scale),
    referenceId: e.referenceId,
    reservationId: e.reservationId,
    counterpartyAccountId: e.counterpartyAccountId,
    metadata: e.metadata,
    details,
    traceparent: '',
    idempotencyKey: '',
  };
}
