/**
 * The largest value seen in a sliding window (default: the last 60 s), kept in a ring of
 * sub-windows so that recording is O(1) and an old spike ages out instead of staying forever.
 * A histogram cannot tell the true maximum (only the bucket it fell in); this can.
 */
export class WindowedMax {
  private readonly slots: number[];
  private readonly slotStarts: number[];
  private readonly slotMs: number;

  constructor(
    windowMs = 60_000,
    slotCount = 6,
    private readonly now: () => number = Date.now,
  ) {
    this.slotMs = Math.max(1, Math.floor(windowMs / slotCount));
    this.slots = new Array<number>(slotCount).fill(0);
    this.slotStarts = new Array<number>(slotCount).fill(-Infinity);
  }

  record(value: number): void {
    const t = this.now();
    const start = t - (t % this.slotMs);
    const index = Math.floor(start / this.slotMs) % this.slots.length;
    if (this.slotStarts[index] !== start) {
      this.slotStarts[index] = start;
      this.slots[index] = value;
    } else if (value > (this.slots[index] ?? 0)) {
      this.slots[index] = value;
    }
  }

  /** The maximum over the window ending now; 0 when nothing was recorded in it. */
  max(): number {
    const oldest = this.now() - this.slotMs * this.slots.length;
    let max = 0;
    for (let i = 0; i < this.slots.length; i++) {
      if ((this.slotStarts[i] ?? -Infinity) > oldest && (this.slots[i] ?? 0) > max) max = this.slots[i] ?? 0;
    }
    return max;
  }
}
