import type { AccountState, ReservationState } from '../../ledger/domain/account';
import type { PostgresEventStore } from './postgres-event-store';
import { Snapshotter } from './snapshotter';

/** An event store stand-in whose accounts have a given number of active holds at every version. */
function storeWithHolds(holds: number): { store: PostgresEventStore; written: number[] } {
  const written: number[] = [];
  const reservations = new Map<string, ReservationState>();
  for (let i = 0; i < holds; i++) {
    reservations.set(`r${i}`, { reservationId: `r${i}`, status: 'ACTIVE' } as ReservationState);
  }
  reservations.set('done', { reservationId: 'done', status: 'COMMITTED' } as ReservationState);
  const store = {
    foldUpTo: (accountId: string, version: number) =>
      Promise.resolve({ accountId, version, reservations } as unknown as AccountState),
    writeSnapshot: (state: AccountState) => {
      written.push(state.version);
      return Promise.resolve();
    },
  } as unknown as PostgresEventStore;
  return { store, written };
}

/** Stores versions 1..last of account "a" one event at a time, letting each snapshot finish. */
async function storeVersions(snapshotter: Snapshotter, last: number): Promise<void> {
  for (let version = 1; version <= last; version++) {
    snapshotter.noteStored([{ accountId: 'a', version }]);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('Snapshotter', () => {
  it('snapshots every N events while an account holds at most N active reservations', async () => {
    const { store, written } = storeWithHolds(10);
    await storeVersions(new Snapshotter(store, { every: 10, queueMax: 100 }), 50);
    expect(written).toEqual([10, 20, 30, 40, 50]);
  });

  it('spaces snapshots at least as many events apart as the account holds active reservations', async () => {
    const { store, written } = storeWithHolds(25);
    await storeVersions(new Snapshotter(store, { every: 10, queueMax: 100 }), 100);
    // 10, then not before 35 -> 40, not before 65 -> 70, not before 95 -> 100
    expect(written).toEqual([10, 40, 70, 100]);
  });
});
