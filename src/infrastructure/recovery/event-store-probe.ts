import { Client } from 'pg';

export interface EventStoreProbeOptions {
  url: string;
  intervalMs: number;
  /** bound on connecting and on the probe query: past it the store counts as unreachable */
  timeoutMs: number;
}

/**
 * Whether the event store answers, from a `SELECT 1` every `intervalMs` on a connection of its own
 * (a busy pool must not look like an outage), each bounded by `timeoutMs`. Durable calls consult it before they touch Redis
 * (DurableGate), so that a Postgres outage fails them at once instead of after the durable-ack
 * timeout, with nothing applied. Starts as reachable: a wrong guess costs one probe interval.
 */
export class EventStoreProbe {
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private up = true;
  private readonly unreachableListeners: (() => void)[] = [];
  /** the probe's own connection; dropped on any error and made again at the next probe */
  private client: Client | undefined;

  constructor(
    private readonly options: EventStoreProbeOptions,
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
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.probing;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private async connected(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.options.timeoutMs,
      query_timeout: this.options.timeoutMs,
      application_name: 'ledger-probe',
    });
    // A dropped connection shows as the next probe's error; unhandled, it would crash the process.
    client.on('error', () => undefined);
    this.client = client;
    await client.connect();
    return client;
  }

  private async probe(): Promise<void> {
    try {
      await (await this.connected()).query('SELECT 1');
      this.set(true);
    } catch (error) {
      const broken = this.client;
      this.client = undefined;
      void broken?.end().catch(() => undefined);
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
