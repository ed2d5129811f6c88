/** Stored W3C traceparents of a batch, at most a bounded number (span links are not free). */
export function traceparentsOf(events: readonly { traceparent: string }[]): string[] {
  const parents = new Set<string>();
  for (const e of events) {
    if (e.traceparent !== '') parents.add(e.traceparent);
    if (parents.size >= 128) break;
  }
  return [...parents];
}
