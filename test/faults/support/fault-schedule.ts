import { prng } from '../../support/workload';

export const FAULT_KINDS = ['redis-kill', 'redis-wipe', 'postgres-kill', 'kafka-kill', 'service-kill'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** quiet time before the fault (after the previous one is over) */
  gapMs: number;
  /** how long the killed process stays down before it is started again (0 for a wipe) */
  downMs: number;
}

/**
 * The fault schedule of a seed: every kind `rounds` times, in a shuffled order, each after a
 * random quiet gap and with a random downtime. The same seed gives the same schedule, so a
 * failing run is replayed with LEDGER_FAULTS_SEED.
 */
export function faultSchedule(seed: number, rounds: number): Fault[] {
  const random = prng(seed);
  const kinds: FaultKind[] = [];
  for (let r = 0; r < rounds; r++) kinds.push(...FAULT_KINDS);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  return kinds.map((kind) => ({
    kind,
    gapMs: 3000 + Math.floor(random() * 6000),
    downMs: kind === 'redis-wipe' ? 0 : 500 + Math.floor(random() * 3000),
  }));
}
