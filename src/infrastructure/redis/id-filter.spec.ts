import { idFilterBits, idFilterSlot } from './id-filter';
import { RedisKeys } from './redis-keys';

describe('idFilterBits', () => {
  const options = { idFilterBits: 8_388_608, idFilterHashes: 7 };

  it('gives idFilterHashes integer positions within [0, bits), the same for the same key', () => {
    for (let i = 0; i < 2000; i++) {
      const bits = idFilterBits(`res:order-${i}`, options);
      expect(bits).toHaveLength(7);
      for (const bit of bits) {
        expect(bit).toMatch(/^[0-9]+$/);
        expect(Number(bit)).toBeLessThan(options.idFilterBits);
      }
      expect(idFilterBits(`res:order-${i}`, options)).toEqual(bits);
    }
  });

  it('stays in range for a filter size that is not a power of two, and for the largest size', () => {
    for (const size of [1024, 1_000_003, 4_294_967_295]) {
      for (let i = 0; i < 500; i++) {
        for (const bit of idFilterBits(`tx:${i}`, { idFilterBits: size, idFilterHashes: 16 })) {
          expect(Number(bit)).toBeGreaterThanOrEqual(0);
          expect(Number(bit)).toBeLessThan(size);
        }
      }
    }
  });

  it('spreads keys: distinct keys rarely share all their bits (false positives near the Bloom estimate)', () => {
    // 10,000 ids in a filter of 100,000 bits with 7 hashes: expected false-positive rate ~0.8%.
    const small = { idFilterBits: 100_000, idFilterHashes: 7 };
    const set = new Set<string>();
    for (let i = 0; i < 10_000; i++) for (const bit of idFilterBits(`res:a-${i}`, small)) set.add(bit);
    let falsePositives = 0;
    for (let i = 0; i < 10_000; i++) {
      if (idFilterBits(`res:b-${i}`, small).every((bit) => set.has(bit))) falsePositives++;
    }
    expect(falsePositives).toBeLessThan(300); // 3%: far above the estimate, far below a broken hash
  });
});

describe('idFilterSlot', () => {
  const keys = new RedisKeys(16);

  it('puts client-wide ids (tx, res) in their own bucket, scoped ids in the account bucket', () => {
    expect(idFilterSlot(keys, 'res:order-1', 'alice').filterKey).toBe(keys.idFilterOfBucket(keys.bucketOf('order-1')));
    expect(idFilterSlot(keys, 'tx:dep-1', 'alice').readyKey).toBe(keys.idFilterReadyOfBucket(keys.bucketOf('dep-1')));
    expect(idFilterSlot(keys, 'commit:7:order-1:f', 'alice').filterKey).toBe(
      keys.idFilterOfBucket(keys.bucketOf('alice')),
    );
    expect(idFilterSlot(keys, 'open:alice', 'alice').filterKey).toBe(keys.idFilterOfBucket(keys.bucketOf('alice')));
  });
});
