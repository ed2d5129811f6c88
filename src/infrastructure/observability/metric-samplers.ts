/** Fills a metric's value when Prometheus scrapes; a failing sampler leaves the last value. */
export type Sampler = () => void | Promise<void>;

/** The samplers of each sampled metric (LedgerMetrics.addSampler) and the collect functions that run them. */
export class MetricSamplers {
  private readonly samplers = new Map<object, Sampler[]>();

  add(metric: object, sampler: Sampler): void {
    const list = this.samplers.get(metric) ?? [];
    list.push(sampler);
    this.samplers.set(metric, list);
  }

  /** The collect function of a sampled metric; `metric` is read when it runs (after construction). */
  collect(metric: () => object): () => Promise<void> {
    return async () => {
      const list = this.samplers.get(metric()) ?? [];
      await Promise.all(
        list.map(async (sampler) => {
          try {
            await sampler();
          } catch {
            // A sample that cannot be taken now (e.g. Redis down) keeps the previous value.
          }
        }),
      );
    };
  }
}
