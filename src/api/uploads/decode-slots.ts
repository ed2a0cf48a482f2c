export interface DecodeSlotsLimits {
  /** Decodes running at once (DECODE_CONCURRENCY). */
  maxDecodes: number;
  /**
   * Pixels (width x height, from the header) being decoded at once (DECODE_MAX_PIXELS): a decode
   * may briefly hold its full-size pixels, several bytes each, so this bounds the memory decoding
   * takes. An image larger than this still runs, alone.
   */
  maxPixels: number;
}

interface Waiter {
  pixels: number;
  start: () => void;
  /** Times a later, smaller decode went ahead of this one while it was first in line. */
  overtaken: number;
}

/**
 * Admission of decodes by count and by pixels. Waiters start in arrival order, except that a
 * small image that fits beside the running ones may go ahead of a large one at the head of the
 * line, so one client's 49-megapixel uploads do not hold up everyone's phone photos; the head can
 * be overtaken only `4 x maxDecodes` times, so it never starves.
 */
export class DecodeSlots {
  private running = 0;
  private pixels = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: DecodeSlotsLimits) {}

  /** Runs `task`, the decode of an image of `pixels`, when there is room for it; frees the room when it settles. */
  async run<T>(pixels: number, task: () => Promise<T>): Promise<T> {
    await new Promise<void>((start) => {
      this.waiting.push({ pixels, start, overtaken: 0 });
      this.startWaiters();
    });
    try {
      return await task();
    } finally {
      this.running--;
      this.pixels -= pixels;
      this.startWaiters();
    }
  }

  private fits(pixels: number): boolean {
    return (
      this.running < this.limits.maxDecodes && (this.running === 0 || this.pixels + pixels <= this.limits.maxPixels)
    );
  }

  /**
   * Starts waiters in order while they fit. When the head does not, later ones that fit may pass
   * it, until it has been passed `4 x maxDecodes` times: then it waits for room, and so does
   * everyone behind it.
   */
  private startWaiters(): void {
    const maxOvertakes = 4 * this.limits.maxDecodes;
    for (let i = 0; i < this.waiting.length && this.running < this.limits.maxDecodes;) {
      const waiter = this.waiting[i]!;
      const head = this.waiting[0]!;
      if (i > 0 && head.overtaken >= maxOvertakes) return;
      if (!this.fits(waiter.pixels)) {
        i++;
        continue;
      }
      if (i > 0) head.overtaken++;
      this.waiting.splice(i, 1);
      this.running++;
      this.pixels += waiter.pixels;
      waiter.start();
    }
  }
}
