import type { Server } from '@grpc/grpc-js';
import { closeGrpcServer } from './graceful-shutdown';

function fakeServer(finishesAfterMs: number | undefined): Server & { forced: boolean } {
  const server = {
    forced: false,
    tryShutdown(callback: () => void) {
      if (finishesAfterMs !== undefined) setTimeout(callback, finishesAfterMs);
    },
    forceShutdown() {
      server.forced = true;
    },
  };
  return server as unknown as Server & { forced: boolean };
}

describe('closeGrpcServer', () => {
  it('waits for in-flight calls that finish within the bound', async () => {
    const server = fakeServer(20);
    expect(await closeGrpcServer(server, 1000)).toBe(true);
    expect(server.forced).toBe(false);
  });

  it('cancels what is still running at the bound', async () => {
    const server = fakeServer(undefined);
    const started = Date.now();
    expect(await closeGrpcServer(server, 50)).toBe(false);
    expect(server.forced).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('has nothing to do before the server exists', async () => {
    expect(await closeGrpcServer(undefined, 10)).toBe(true);
  });
});
