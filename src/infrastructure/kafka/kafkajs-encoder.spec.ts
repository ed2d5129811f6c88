import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * patches/kafkajs+2.2.4.patch makes kafkajs's protocol Encoder write into unzeroed (pooled)
 * buffers and write varints in place: it allocated a zeroed buffer per record and per header
 * and a Buffer per varint, which made encoding the publisher's produce requests cost about twice
 * the CPU. The bytes on the wire must not change: a record batch encodes to what upstream
 * kafkajs 2.2.4 produced, and decodes (with kafkajs's own decoder) to the records it was given.
 */
const load = createRequire(__filename);
const Encoder = load('kafkajs/src/protocol/encoder') as new () => { buf: Buffer };
const Decoder = load('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const Record = load('kafkajs/src/protocol/recordBatch/record/v0') as (record: object) => EncoderLike;
const { RecordBatch } = load('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: object) => Promise<EncoderLike>;
};
const decodeBatch = load('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{
  records: { key: Buffer; value: Buffer; headers: Record<string, Buffer>; timestamp: string; offset: string }[];
}>;

interface EncoderLike {
  buffer: Buffer;
}

const FIRST_TIMESTAMP = 1_700_000_000_000;

/** Keys and values across the 1/2/3-byte varint lengths, timestamps before and after the first. */
function records(): { key: Buffer; value: Buffer; headers: Record<string, string>; timestampDelta: number }[] {
  return [0, 1, 63, 64, 127, 128, 300, 20_000].map((size, i) => ({
    key: Buffer.from(`acct-${'k'.repeat(size % 200)}`),
    value: Buffer.alloc(size, i + 1),
    headers: {
      'event-id': `event-${i}`,
      'event-type': 'FUNDS_RESERVED',
      traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    },
    timestampDelta: [0, -1, 1, 63, -64, 8191, 2 ** 40, -(2 ** 35)][i]!,
  }));
}

async function encodedBatch(): Promise<Buffer> {
  const given = records();
  const batch = await RecordBatch({
    records: given.map((r, offsetDelta) => Record({ ...r, offsetDelta })),
    firstTimestamp: FIRST_TIMESTAMP,
    maxTimestamp: FIRST_TIMESTAMP + 2 ** 40,
    lastOffsetDelta: given.length - 1,
  });
  return batch.buffer;
}

describe('kafkajs Encoder (patched)', () => {
  it('encodes a record batch byte for byte as upstream kafkajs 2.2.4 did', async () => {
    // sha1 of this batch encoded by the unpatched kafkajs 2.2.4 (node_modules before the patch).
    expect(
      createHash('sha1')
        .update(await encodedBatch())
        .digest('hex'),
    ).toBe(UPSTREAM_SHA1);
  });

  it('round-trips every key, value, header and timestamp through kafkajs decoding', async () => {
    const { records: decoded } = await decodeBatch(new Decoder(await encodedBatch()));
    const given = records();
    expect(decoded).toHaveLength(given.length);
    decoded.forEach((record, i) => {
      const want = given[i]!;
      expect(record.key.equals(want.key)).toBe(true);
      expect(record.value.equals(want.value)).toBe(true);
      expect(Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, v.toString()]))).toEqual(
        want.headers,
      );
      expect(record.timestamp).toBe(String(FIRST_TIMESTAMP + want.timestampDelta));
      expect(record.offset).toBe(String(i));
    });
  });

  it('is patched: small encoders take their buffer from the shared pool, not a zeroed one of their own', () => {
    expect(new Encoder().buf.buffer.byteLength).toBe(Buffer.poolSize);
  });

  it('never hands out bytes it did not write (unzeroed buffers are reused from the pool)', () => {
    // Dirty the pool, then encode: every byte of the result is one the encoder wrote.
    Buffer.allocUnsafe(4096).fill(0xee);
    const record = Record({
      key: Buffer.from('k'),
      value: Buffer.from('v'),
      headers: {},
      timestampDelta: 0,
      offsetDelta: 0,
    });
    expect([...record.buffer]).toEqual([0x10, 0, 0, 0, 0x02, 0x6b, 0x02, 0x76, 0]);
  });
});

const UPSTREAM_SHA1 = '319be2abc2552c639c8215a226e0da73229f4f04';
