import type { DataSource } from 'typeorm';

/**
 * Whether the event store answers, from a `SELECT 1` every `intervalMs` (each bounded by the
 * pool's connect and statement timeouts). Durable calls consult it before they touch Redis
 * (DurableGate), so that a Postgres outage fails them at once instead of after the durable-ack
 * timeout, with nothing applied. Starts as reachable: a wrong guess costs one probe interval.
 */
export class EventStoreProbe {
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private up = true;
  private readonly unreachableListeners: (() => void)[] = [];

  constructor(
    private readonly db: DataSource,
    private readonly intervalMs: number,
    private readonly onChange: (reachable: boolean, error?: unknown) => void = () => undefined,
  ) {}

  /** Called every time the event store stops answering. */
  onUnreachable(listener: () => void): void {
    this.unreachableListeners.push(listener);
  }

  get reachable(): boolean {
    return this.up;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.probing ??= this.probe().finally(() => (this.probing = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.probing;
  }

  private async probe(): Promise<void> {
    try {
      await this.db.query('SELECT 1');
      this.set(true);
    } catch (error) {
      this.set(false, error);
    }
  }

  private set(reachable: boolean, error?: unknown): void {
    if (reachable === this.up) return;
    this.up = reachable;
    this.onChange(reachable, error);
    if (!reachable) for (const listener of this.unreachableListeners) listener();
  }
}
