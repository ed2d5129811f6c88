import { randomUUID } from 'node:crypto';
import { type Batch, Kafka, logLevel } from 'kafkajs';
import type { KafkaSecurity } from '../config/kafka-security';
import { kafkaSecurityOptions } from '../infrastructure/kafka/kafka-client';
import type { TopicRecord } from './kafka-audit';

export interface KafkaReadOptions {
  brokers: string[];
  topic: string;
  clientId: string;
  requestTimeoutMs: number;
  /** TLS and SASL, as the service reaches Kafka */
  security: KafkaSecurity;
  /** bound on the whole read */
  timeoutMs: number;
}

/**
 * Reads the topic from the beginning to the end offsets it had when the read began, batch by
 * batch (kafkajs fetches at most a few MB at a time, and the next fetch waits for `onBatch`), with
 * a throw-away consumer group that commits nothing and is deleted afterwards. Returns false when
 * the topic does not exist.
 */
export async function readTopic(
  options: KafkaReadOptions,
  onBatch: (records: TopicRecord[]) => Promise<void>,
): Promise<boolean> {
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: options.requestTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    // A fresh broker answers group calls with "coordinator loading" for a moment: retried.
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
    ...kafkaSecurityOptions(options.security),
  });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `ledger-audit-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxBytes: 8 * 1024 * 1024, sessionTimeout: 30_000 });
  let timer: NodeJS.Timeout | undefined;
  try {
    if (!(await admin.listTopics()).includes(options.topic)) return false;
    const offsets = await admin.fetchTopicOffsets(options.topic);
    const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    const open = new Set(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition));
    if (open.size === 0) return true;
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading ${options.topic} took longer than ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch, heartbeat }) => {
            const end = ends.get(batch.partition) ?? 0n;
            const records = recordsBefore(batch, end);
            await onBatch(records);
            await heartbeat();
            const last = records[records.length - 1];
            if (last && BigInt(last.offset) + 1n >= end) {
              open.delete(batch.partition);
              if (open.size === 0) resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    if (timer) clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return true;
}

/** The batch's messages before `end` (the partition's end offset when the read began), as records. */
function recordsBefore(batch: Batch, end: bigint): TopicRecord[] {
  const records: TopicRecord[] = [];
  for (const m of batch.messages) {
    if (BigInt(m.offset) >= end) break;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(m.headers ?? {})) {
      headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value ?? '');
    }
    records.push({
      partition: batch.partition,
      offset: m.offset,
      key: m.key?.toString('utf8') ?? '',
      headers,
      value: m.value ?? Buffer.alloc(0),
    });
  }
  return records;
}
