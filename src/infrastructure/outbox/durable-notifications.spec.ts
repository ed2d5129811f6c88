import { decodeStored, encodeStored } from './durable-notifications';

describe('durable notifications', () => {
  const trace = `00-${'1'.repeat(32)}-${'a'.repeat(16)}-01`;

  it('carry the stored event ids and the traceparent of the batch that stored them', () => {
    expect(decodeStored(encodeStored(['e1', 'e2'], trace))).toEqual({ eventIds: ['e1', 'e2'], batch: trace });
    expect(decodeStored(encodeStored(['e1']))).toEqual({ eventIds: ['e1'], batch: '' });
  });

  it('stay a JSON array of strings, so an instance of the previous version still reads the ids', () => {
    const message = encodeStored(['e1'], trace);
    const old = (JSON.parse(message) as unknown[]).filter((id): id is string => typeof id === 'string');
    expect(old).toContain('e1');
    // ...and a report of the previous version reads here as ids without a batch.
    expect(decodeStored(JSON.stringify(['e1', 'e2']))).toEqual({ eventIds: ['e1', 'e2'], batch: '' });
  });

  it('ignore what is not a report', () => {
    expect(decodeStored('not json')).toEqual({ eventIds: [], batch: '' });
    expect(decodeStored('{"ids":["e1"]}')).toEqual({ eventIds: [], batch: '' });
    expect(decodeStored('["e1", 2, null]')).toEqual({ eventIds: ['e1'], batch: '' });
  });
});
