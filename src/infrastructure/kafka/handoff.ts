import type { CommittedBatch } from '../postgres/batch-append';
import type { PublishableEvent } from './publisher-lock';

/** A batch the relay committed, handed over in process, with the traceparent of its span ("" if untraced). */
export interface HandedOffBatch extends CommittedBatch {
  trace: string;
}

/** What one produce request sends, and the watermark once Kafka acknowledged it. */
export interface Round {
  events: PublishableEvent[];
  /** the relay batch spans the events come from */
  traces: string[];
  upTo: number;
}

/**
 * The batches the relay handed over and the publisher has not published yet, in commit order,
 * bounded by the number of events they hold (past it a batch is refused: it will be read back
 * from Postgres when its turn comes).
 */
export class Handoff {
  private readonly batches: HandedOffBatch[] = [];
  private events = 0;

  constructor(private readonly eventsMax: number) {}

  get empty(): boolean {
    return this.batches.length === 0;
  }

  /** events held */
  get size(): number {
    return this.events;
  }

  /** Where the oldest batch starts (its afterSeq), if any. */
  get nextAfter(): number | undefined {
    return this.batches[0]?.afterSeq;
  }

  /** False when the batch does not fit under the bound (or holds nothing). */
  add(batch: HandedOffBatch): boolean {
    if (batch.events.length === 0 || this.events + batch.events.length > this.eventsMax) return false;
    this.batches.push(batch);
    this.events += batch.events.length;
    return true;
  }

  clear(): void {
    this.batches.length = 0;
    this.events = 0;
  }

  /** Forgets the batches the watermark covers. */
  dropUpTo(published: number): void {
    while (this.batches[0] && this.batches[0].lastSeq <= published) {
      this.events -= this.batches.shift()!.events.length;
    }
  }

  /**
   * Consecutive batches from the watermark on, at most `max` events (a prefix of a batch is
   * contiguous too), or undefined when the oldest does not continue the watermark. Nothing is
   * taken off here: once the request is acknowledged, dropUpTo forgets what the watermark
   * covers; if it fails, the same round is made again.
   */
  continuing(published: number, max: number): Round | undefined {
    const first = this.batches[0];
    if (!first || first.afterSeq > published) return undefined;
    const events: PublishableEvent[] = [];
    const traces: string[] = [];
    let upTo = published;
    for (const batch of this.batches) {
      if (batch.afterSeq > upTo || events.length >= max) break;
      const after = upTo;
      const fresh = batch.events.filter((e) => e.seq > after);
      const room = max - events.length;
      if (batch.trace !== '') traces.push(batch.trace);
      if (fresh.length > room) {
        const part = fresh.slice(0, room);
        events.push(...part);
        upTo = part.at(-1)!.seq;
        break;
      }
      events.push(...fresh);
      upTo = Math.max(upTo, batch.lastSeq);
    }
    return { events, traces, upTo };
  }
}
