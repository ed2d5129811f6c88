import type Redis from 'ioredis';
import { createRedisClient } from '../../src/infrastructure/redis/redis-client';
import { PrivateRedis } from '../support/redis-server';

/** Keeps the event loop (and so every timer and socket read) busy for `ms`. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: what a burst of work in one turn does to the loop
  }
}

/**
 * The per-command timeout bounds how long Redis takes to answer, not how long our own event loop
 * was busy: ioredis checked it in the timers phase, before the loop read the socket, so a reply
 * that had arrived during a busy turn failed with "Command timed out" (patches/ioredis+5.11.1.patch
 * decides after the read). Under load that turned applied calls into DEPENDENCY_UNAVAILABLE.
 */
describe('Redis command timeout and a busy event loop', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let admin: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    const url = server.url;
    redis = createRedisClient({ url, commandTimeoutMs: 50, connectTimeoutMs: 1000 }, 'timeout-test');
    admin = createRedisClient({ url, commandTimeoutMs: 5000, connectTimeoutMs: 1000 }, 'timeout-admin');
    await Promise.all([redis.connect(), admin.connect()]);
  });

  afterAll(async () => {
    redis?.disconnect();
    admin?.disconnect();
    await server?.stop();
  });

  it('a reply that arrived while the loop was busy past the timeout answers the command', async () => {
    for (let i = 0; i < 5; i++) {
      const reply = redis.incr('busy-loop-counter');
      blockEventLoop(200); // Redis answers within a millisecond; we read it 200 ms later
      await expect(reply).resolves.toBe(i + 1);
    }
  });

  it('a reply that does not come in time still fails the command, at about the timeout', async () => {
    // Redis holds every client's commands for 400 ms: the answer really is late.
    await admin.call('CLIENT', 'PAUSE', '400', 'ALL');
    const start = Date.now();
    await expect(redis.get('late')).rejects.toThrow('Command timed out');
    expect(Date.now() - start).toBeLessThan(300);
    await admin.call('CLIENT', 'UNPAUSE');
  });
});
