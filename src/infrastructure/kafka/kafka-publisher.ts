import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Producer } from 'kafkajs';
import type { Pool } from 'pg';
import type { ProtoMapper } from '../../ledger/grpc/to-proto';
import { eventMessage } from './event-message';
import { Handoff, type HandedOffBatch, type Round } from './handoff';
import type { KafkaPublisherOptions, PublisherObserver } from './kafka-publisher-options';
import { unpublishedBacklog } from './publisher-backlog';
import { PublisherLock } from './publisher-lock';

export type { HandedOffBatch } from './handoff';

/**
 * The outbox saga's second half: emits stored events to Kafka (idempotent producer, acks=all,
 * key = account_id so an account's events share a partition, value = the contract's
 * AccountEvent, headers event-id / event-type / traceparent), then moves the watermark
 * (ledger_kafka_watermark: one UPDATE per produce request). A crash between the two sends them
 * again from the watermark: at least once, consumers deduplicate on event_id.
 *
 * What to send: the relay hands each committed batch over in process (offer), so that in the
 * steady state the publisher reads nothing back from Postgres. A batch goes out only if it
 * continues what is published (its afterSeq <= the watermark); otherwise (this process just took
 * the lock, a batch was dropped at the hand-off bound, another instance's relay stored events)
 * the events in between are read back from Postgres first. Events go out in global_seq order,
 * which is each account's version order, and one request at a time.
 */
export class KafkaPublisher {
  private running = false;
  private loop: Promise<void> | undefined;
  private lock: PublisherLock | undefined;
  /** every event with global_seq <= this is acknowledged by Kafka (known while the lock is held) */
  private published: number | undefined;
  private readonly handoff: Handoff;
  private wake: (() => void) | undefined;
  /** look for stored events after the watermark in Postgres even though nothing was handed over */
  private readBackDue = true;
  /** this process's relay is the leader: what is stored is handed over */
  private relayLeadsHere = false;
  private lastBacklogMs = 0;
  /** when the last produce request started (ms), for lingerMs */
  private lastSendMs = 0;

  constructor(
    private readonly pool: () => Pool,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly toProto: ProtoMapper,
    private readonly options: KafkaPublisherOptions,
    private readonly observer: PublisherObserver,
  ) {
    this.handoff = new Handoff(options.handoffMax);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the current request, sends what was handed over (bounded), and lets the lock go. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    for (let round = 0; round < 4 && !this.handoff.empty && this.lock && !this.lock.lost; round++) {
      try {
        await this.publishOnce();
      } catch (error) {
        this.observer.failure(error, 1);
        break;
      }
    }
    await this.dropLock();
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  /**
   * The relay committed a batch: publish it next. Dropped when this process is not the publisher
   * (or not yet: the lock is taken with the watermark) and past the hand-off bound; either way
   * the events are read back from Postgres when their turn comes.
   */
  offer(batch: HandedOffBatch): void {
    if (this.published === undefined || !this.running) return;
    if (this.handoff.add(batch)) this.wake?.();
  }

  /** The relay of this process became leader (hand-offs will come) or stopped being one. */
  relayLeading(leading: boolean): void {
    if (this.relayLeadsHere === leading) return;
    this.relayLeadsHere = leading;
    // Whatever the relay elsewhere stored meanwhile, or stores from now on, is read back.
    if (!leading) this.readBackDue = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    let connected = false;
    while (this.running) {
      try {
        if (!(await this.holdLock())) {
          await sleep(1000);
          continue;
        }
        if (!connected) {
          await this.producer.connect();
          await this.admin.connect();
          await this.ensureTopic();
          connected = true;
        }
        await this.linger();
        const published = await this.publishOnce();
        failures = 0;
        // Nothing handed over for a while: look in Postgres (another instance's relay, a lost hand-off).
        const idleMs = this.relayLeadsHere ? this.options.safetyPollMs : this.options.idlePollMs;
        if (published === 0 && !(await this.idle(idleMs))) this.readBackDue = true;
      } catch (error) {
        failures++;
        this.observer.failure(error, failures);
        if (this.lock?.lost) await this.dropLock();
        await sleep(Math.min(this.options.retryBackoffMaxMs, 50 * 2 ** Math.min(failures, 10)));
      }
    }
  }

  /** Takes the lock and, with it, the watermark; hand-offs made before are dropped (read back instead). */
  private async holdLock(): Promise<boolean> {
    if (this.lock) return true;
    const lock = await PublisherLock.acquire(this.pool());
    if (!lock) return false;
    try {
      this.published = await lock.watermark();
    } catch (error) {
      await lock.release();
      throw error;
    }
    this.lock = lock;
    this.readBackDue = true;
    return true;
  }

  private async dropLock(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    this.published = undefined;
    this.handoff.clear();
    await lock?.release().catch(() => undefined);
  }

  private async ensureTopic(): Promise<void> {
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: this.options.topic, numPartitions: this.options.partitions }],
    });
  }

  /**
   * One produce request (or none): what was handed over if it continues the watermark; else what
   * lies before the next hand-off (a gap); else, only when due (lock just taken, nothing handed
   * over for idlePollMs, a full read-back before), whatever follows the watermark in Postgres.
   */
  async publishOnce(): Promise<number> {
    const lock = this.lock;
    const from = this.published;
    if (!lock || from === undefined) throw new Error('publishOnce needs the publisher lock');
    this.observeBacklog(from);
    this.handoff.dropUpTo(from);
    const nextAfter = this.handoff.nextAfter;
    if (nextAfter === undefined && !this.readBackDue) return 0;
    const round = this.handoff.continuing(from, this.options.batchMax) ?? (await this.readBack(lock, from, nextAfter));
    if (nextAfter === undefined) this.readBackDue = round.events.length === this.options.batchMax;
    if (round.events.length > 0) {
      await this.send(round);
      await lock.saveWatermark(round.upTo);
    }
    this.published = Math.max(from, round.upTo);
    this.handoff.dropUpTo(this.published);
    return round.events.length;
  }

  /**
   * The stored events after the watermark, read back from Postgres; when a hand-off waits, only
   * up to where it starts (everything there is committed and final, see CommittedBatch), so the
   * next round continues with it.
   */
  private async readBack(lock: PublisherLock, from: number, nextAfter: number | undefined): Promise<Round> {
    const events = await lock.eventsAfter(from, nextAfter, this.options.batchMax);
    const last = events.at(-1)?.seq;
    const upTo = events.length === this.options.batchMax ? last! : (nextAfter ?? last ?? from);
    return { events, traces: [], upTo };
  }

  private async send(round: Round): Promise<void> {
    this.lastSendMs = Date.now();
    const start = process.hrtime.bigint();
    const events = round.events.map((e) => e.event);
    await this.observer.traced(events, round.traces, () =>
      this.producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: events.map((event) => eventMessage(event, this.toProto)),
      }),
    );
    this.observer.produced(events.length, Number(process.hrtime.bigint() - start) / 1e9);
  }

  /**
   * Until lingerMs after the last request started, so that hand-offs gather into one request;
   * not while a full request waits, a read-back is due (catching up) or on stop.
   */
  private linger(): Promise<void> {
    const waitMs = this.lastSendMs + this.options.lingerMs - Date.now();
    const full = (): boolean => !this.running || this.handoff.size >= this.options.batchMax;
    if (waitMs <= 0 || this.readBackDue || this.handoff.empty || full()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.wake = () => {
        if (full()) done();
      };
    });
  }

  /** Until a hand-off arrives or stop (true), at most `ms` (false). */
  private idle(ms: number): Promise<boolean> {
    if (!this.handoff.empty || !this.running) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (woken: boolean): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(woken);
      };
      const timer = setTimeout(() => done(false), ms);
      this.wake = () => done(true);
    });
  }

  /** At most once a second, off the lock's connection: counting a long backlog is not free. */
  private observeBacklog(from: number): void {
    const now = Date.now();
    if (now - this.lastBacklogMs < 1000) return;
    this.lastBacklogMs = now;
    unpublishedBacklog(this.pool(), from)
      .then(({ pending, oldestAgeSeconds }) => this.observer.backlog(pending, oldestAgeSeconds))
      .catch(() => undefined);
  }
}
