import type { Admin, Producer, ProducerRecord } from 'kafkajs';
import type { Pool } from 'pg';
import { CurrencyRegistry } from '../../ledger/domain/currency';
import type { LedgerEvent } from '../../ledger/domain/events';
import { ProtoMapper } from '../../ledger/grpc/to-proto';
import type { SequencedEvent } from '../postgres/batch-append';
import type { EventRow } from '../postgres/event-rows';
import { KafkaPublisher } from './kafka-publisher';
import type { KafkaPublisherOptions } from './kafka-publisher-options';

function event(seq: number, accountId = 'a'): LedgerEvent {
  return {
    eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    accountId,
    version: seq,
    type: 'FUNDS_DEPOSITED',
    occurredAtMs: 1_700_000_000_000 + seq,
    currency: 'USD',
    amount: 100n,
    balanceAfter: BigInt(100 * seq),
    heldAfter: 0n,
    referenceId: `tx-${seq}`,
    reservationId: '',
    counterpartyAccountId: '',
    metadata: {},
    details: {},
    traceparent: '',
    idempotencyKey: `deposit:tx-${seq}`,
  };
}

function rowOf(seq: number, e: LedgerEvent): EventRow {
  return {
    global_seq: String(seq),
    event_id: e.eventId,
    account_id: e.accountId,
    version: String(e.version),
    type: e.type,
    currency: e.currency,
    amount: e.amount.toString(),
    balance_after: e.balanceAfter.toString(),
    held_after: e.heldAfter.toString(),
    reference_id: e.referenceId,
    reservation_id: e.reservationId,
    counterparty_account_id: e.counterpartyAccountId,
    payload: {},
    metadata: { client: {}, traceparent: '', idempotency_key: e.idempotencyKey },
    occurred_at: new Date(e.occurredAtMs),
  };
}

type Query = string | { text: string; values?: unknown[] };

/**
 * ledger_events and ledger_kafka_watermark in memory, behind the few statements the publisher
 * makes (through a pg Pool and its clients), counting them.
 */
class FakeStore {
  rows: EventRow[] = [];
  watermark = 0;
  lockHeldElsewhere = false;
  readBacks = 0;
  rowsReadBack = 0;
  watermarkWrites = 0;

  commit(seqs: number[], afterSeq = this.lastSeq()): { afterSeq: number; lastSeq: number; events: SequencedEvent[] } {
    const events = seqs.map((seq) => ({ seq, event: { ...event(seq), requestHash: '' } }));
    for (const e of events) this.rows.push(rowOf(e.seq, e.event));
    return { afterSeq, lastSeq: seqs.at(-1) ?? afterSeq, events };
  }

  lastSeq(): number {
    return Number(this.rows.at(-1)?.global_seq ?? 0);
  }

  async query(q: Query): Promise<{ rows: unknown[] }> {
    const text = typeof q === 'string' ? q : q.text;
    const values = typeof q === 'string' ? [] : (q.values ?? []);
    await Promise.resolve();
    if (text.includes('pg_try_advisory_lock')) return { rows: [{ held: !this.lockHeldElsewhere }] };
    if (text.includes('pg_advisory_unlock')) return { rows: [] };
    if (text.startsWith('SELECT published_seq')) return { rows: [{ seq: String(this.watermark) }] };
    if (text.startsWith('UPDATE ledger_kafka_watermark')) {
      this.watermarkWrites++;
      this.watermark = Math.max(this.watermark, Number(values[0]));
      return { rows: [] };
    }
    if (text.includes('global_seq > $1 AND global_seq <= $2')) {
      const [after, upTo, limit] = values.map(Number) as [number, number, number];
      const rows = this.rows
        .filter((r) => Number(r.global_seq) > after && Number(r.global_seq) <= upTo)
        .slice(0, limit);
      this.readBacks++;
      this.rowsReadBack += rows.length;
      return { rows };
    }
    if (text.includes('count(*)')) return { rows: [{ n: '0', age: null }] };
    throw new Error(`unexpected statement ${text}`);
  }

  pool(): Pool {
    const client = {
      query: (q: Query) => this.query(q),
      release: () => undefined,
      on: () => client,
      removeListener: () => client,
    };
    return { connect: async () => client, query: (q: Query) => this.query(q) } as unknown as Pool;
  }
}

class FakeKafka {
  sent: { seq: number; id: string }[] = [];
  requests = 0;
  failNext = 0;

  producer(): Producer {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async (record: ProducerRecord) => {
        await Promise.resolve();
        if (this.failNext > 0) {
          this.failNext--;
          throw new Error('kafka down');
        }
        this.requests++;
        for (const m of record.messages) {
          const id = String(m.headers?.['event-id']);
          this.sent.push({ seq: Number(id.slice(-12)), id });
        }
        return [];
      },
    } as unknown as Producer;
  }

  admin(): Admin {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      createTopics: async () => true,
    } as unknown as Admin;
  }
}

const OPTIONS: KafkaPublisherOptions = {
  topic: 't',
  partitions: 1,
  batchMax: 10,
  idlePollMs: 10_000,
  safetyPollMs: 10_000,
  retryBackoffMaxMs: 10,
  handoffMax: 40,
  lingerMs: 0,
};

const started: KafkaPublisher[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
});

function publisherOn(
  store: FakeStore,
  kafka: FakeKafka,
  options: Partial<KafkaPublisherOptions> = {},
): { publisher: KafkaPublisher; traces: string[][] } {
  const traces: string[][] = [];
  const publisher = new KafkaPublisher(
    () => store.pool(),
    kafka.producer(),
    kafka.admin(),
    new ProtoMapper(new CurrencyRegistry()),
    { ...OPTIONS, ...options },
    {
      produced: () => undefined,
      failure: () => undefined,
      backlog: () => undefined,
      traced: (_events, batchTraces, send) => {
        traces.push([...batchTraces]);
        return send();
      },
    },
  );
  started.push(publisher);
  return { publisher, traces };
}

async function until(what: string, done: () => boolean, withinMs = 2000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('KafkaPublisher', () => {
  it('publishes what the relay hands over, in global_seq order, reading nothing back; one watermark write per request', async () => {
    const store = new FakeStore();
    const kafka = new FakeKafka();
    const { publisher, traces } = publisherOn(store, kafka);
    publisher.start();
    await until('lock taken', () => store.readBacks === 1);
    publisher.offer({ ...store.commit([1, 2, 3]), trace: 'batch-1' });
    await until('first batch out', () => kafka.sent.length === 3);
    publisher.offer({ ...store.commit([4, 5]), trace: 'batch-2' });
    publisher.offer({ ...store.commit([6]), trace: '' });
    await until('all out', () => store.watermark === 6);
    await publisher.stop();
    expect(kafka.sent.map((s) => s.seq)).toEqual(range(1, 6));
    expect(store.readBacks).toBe(1); // the empty one when the lock was taken
    expect(store.rowsReadBack).toBe(0);
    expect(store.watermarkWrites).toBe(kafka.requests);
    expect(traces.flat()).toEqual(['batch-1', 'batch-2']);
  });

  it('after a restart republishes from the watermark: what was committed but never produced goes out, in order', async () => {
    const store = new FakeStore();
    store.commit(range(1, 25));
    // The previous publisher got 1..12 acknowledged and died before it produced 13..25.
    store.watermark = 12;
    const kafka = new FakeKafka();
    const { publisher } = publisherOn(store, kafka);
    publisher.start();
    await until('caught up', () => store.watermark === 25);
    await publisher.stop();
    expect(kafka.sent.map((s) => s.seq)).toEqual(range(13, 25));
  });

  it('reads back what lies before a hand-off that does not continue the watermark, then continues with it', async () => {
    const store = new FakeStore();
    const kafka = new FakeKafka();
    const { publisher } = publisherOn(store, kafka, { handoffMax: 5 });
    publisher.start();
    await until('lock taken', () => store.readBacks === 1);
    kafka.failNext = 1_000_000; // Kafka down: hand-offs pile up to their bound, then are dropped
    publisher.offer({ ...store.commit([1, 2, 3]), trace: '' });
    publisher.offer({ ...store.commit([4, 5, 6]), trace: '' }); // past the bound: dropped
    publisher.offer({ ...store.commit([7, 8]), trace: '' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    kafka.failNext = 0;
    await until('what was committed is out', () => store.watermark === 8);
    publisher.offer({ ...store.commit([9]), trace: '' });
    await until('all out', () => store.watermark === 9);
    await publisher.stop();
    // 1..3 from the hand-off, 4..6 read back (bounded by where 7..8 start), then 7..8 and 9 handed over.
    expect(kafka.sent.map((s) => s.seq)).toEqual(range(1, 9));
    expect(store.rowsReadBack).toBe(3);
  });

  it('splits a hand-off larger than batchMax; a failed produce is sent again, never skipped', async () => {
    const store = new FakeStore();
    const kafka = new FakeKafka();
    const { publisher } = publisherOn(store, kafka, { handoffMax: 100 });
    publisher.start();
    await until('lock taken', () => store.readBacks === 1);
    kafka.failNext = 2;
    publisher.offer({ ...store.commit(range(1, 25)), trace: '' });
    await until('all out', () => store.watermark === 25);
    await publisher.stop();
    expect(kafka.sent.map((s) => s.seq)).toEqual(range(1, 25));
    expect(kafka.requests).toBe(3); // 10 + 10 + 5
    expect(store.rowsReadBack).toBe(0);
  });

  it('a gap in global_seq (rolled back or re-delivered rows) is no reason to read back', async () => {
    const store = new FakeStore();
    const kafka = new FakeKafka();
    const { publisher } = publisherOn(store, kafka);
    publisher.start();
    await until('lock taken', () => store.readBacks === 1);
    publisher.offer({ ...store.commit([1, 2]), trace: '' });
    // The next batch drew 3..5 for events that were already stored: it inserted none, and the
    // one after it starts at 6, right after what was stored before it (afterSeq = 2).
    publisher.offer({ ...store.commit([6, 7]), trace: '' });
    await until('all out', () => store.watermark === 7);
    await publisher.stop();
    expect(kafka.sent.map((s) => s.seq)).toEqual([1, 2, 6, 7]);
    expect(store.readBacks).toBe(1);
  });

  it('lingers between requests: hand-offs gather into one, a full request goes at once, stop sends the rest', async () => {
    const store = new FakeStore();
    const kafka = new FakeKafka();
    const { publisher } = publisherOn(store, kafka, { lingerMs: 60_000 });
    publisher.start();
    await until('lock taken', () => store.readBacks === 1);
    publisher.offer({ ...store.commit([1, 2, 3]), trace: '' });
    // Nothing was sent for a long time: the first batch goes out at once.
    await until('first batch out', () => store.watermark === 3);
    publisher.offer({ ...store.commit([4, 5]), trace: '' });
    publisher.offer({ ...store.commit([6]), trace: '' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(kafka.requests).toBe(1);
    // 4..13 fill a request (batchMax 10): it goes without waiting out the linger.
    publisher.offer({ ...store.commit(range(7, 13)), trace: '' });
    await until('a full request out', () => store.watermark === 13);
    expect(kafka.requests).toBe(2);
    publisher.offer({ ...store.commit([14, 15]), trace: '' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(kafka.requests).toBe(2);
    await publisher.stop();
    expect(kafka.sent.map((s) => s.seq)).toEqual(range(1, 15));
    expect(kafka.requests).toBe(3);
  });

  it('without the lock it publishes nothing and keeps nothing handed over', async () => {
    const store = new FakeStore();
    store.lockHeldElsewhere = true;
    const kafka = new FakeKafka();
    const { publisher } = publisherOn(store, kafka);
    publisher.start();
    publisher.offer({ ...store.commit([1]), trace: '' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await publisher.stop();
    expect(kafka.sent).toEqual([]);
    expect(store.watermarkWrites).toBe(0);
  });
});
