import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Producer } from 'kafkajs';

/**
 * kafkajs 2.2.4 re-arms a timer in its request queue after every check, even with nothing
 * pending, so each idle broker connection woke the event loop about a thousand times a second
 * (patches/kafkajs+2.2.4.patch stops it). Measured here against the real broker: a connected,
 * idle producer must leave the event loop alone, and one that sends must still get its answers.
 */
describe('kafkajs connection at rest (patched request queue)', () => {
  const brokers = (process.env.LEDGER_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  let producer: Producer;

  beforeAll(async () => {
    const kafka = new Kafka({ clientId: 'idle-connection-test', brokers, logLevel: logLevel.NOTHING });
    producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    // A request makes the connection to the partition leader too, with its own request queue.
    await producer.send({ topic: `idle-connection-${process.pid}`, messages: [{ value: 'warm-up' }] });
  }, 60_000);

  afterAll(async () => {
    await producer?.disconnect();
  });

  it('schedules (almost) no timers in a second of rest', async () => {
    const original = global.setTimeout;
    let fromRequestQueue = 0;
    const spy = ((handler: () => void, ms?: number, ...args: unknown[]) => {
      if (new Error().stack?.includes('requestQueue')) fromRequestQueue++;
      return Reflect.apply(original, undefined, [handler, ms, ...args]) as ReturnType<typeof setTimeout>;
    }) as typeof setTimeout;
    global.setTimeout = Object.assign(spy, original);
    try {
      await sleep(1000);
    } finally {
      global.setTimeout = original;
    }
    // Unpatched: ~1000 per connection. Patched: none, or a few from a request in flight.
    expect(fromRequestQueue).toBeLessThan(20);
  });

  it('still answers the next request after resting', async () => {
    const acks = await producer.send({
      topic: `idle-connection-${process.pid}`,
      acks: -1,
      messages: [{ value: 'after rest' }],
    });
    expect(acks).toHaveLength(1);
    expect(acks[0]?.errorCode).toBe(0);
  });
});
