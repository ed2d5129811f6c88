import Redis from 'ioredis';
import { CoalescedWrites } from '../../src/infrastructure/redis/coalesced-writes';
import { PrivateRedis } from '../support/redis-server';

/**
 * Commands issued in one turn of the event loop leave in one socket write (the hot path's EVALSHAs
 * go through CoalescedWrites): held back until the check phase, then sent together, every reply
 * still its own command's.
 */
describe('coalesced writes to Redis', () => {
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.port, '127.0.0.1', { enableAutoPipelining: false, lazyConnect: true });
    await redis.connect();
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('holds the commands of one turn back and sends them together in the check phase', async () => {
    const writes = new CoalescedWrites(redis);
    const socket = redis.stream;
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      writes.hold();
      replies.push(redis.set(`k${i}`, `v${i}`));
    }
    // Nothing has left yet: the socket is corked once (not once per command), the five commands
    // wait in its buffer.
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(5 * '*3\r\n$3\r\nSET\r\n'.length);
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.writableCorked).toBe(0);
    await expect(Promise.all(replies)).resolves.toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);
    await expect(redis.mget('k0', 'k4')).resolves.toEqual(['v0', 'v4']);
  });

  it('corks again in the next turn, and not at all while the connection is not ready', async () => {
    const writes = new CoalescedWrites(redis);
    writes.hold();
    const first = redis.incr('turns');
    await first;
    writes.hold();
    expect(redis.stream.writableCorked).toBe(1);
    await expect(redis.incr('turns')).resolves.toBe(2);
    const offline = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    try {
      new CoalescedWrites(offline).hold(); // status 'wait': no socket to cork, and no throw
      expect(offline.status).toBe('wait');
    } finally {
      offline.disconnect();
    }
  });
});
