export interface RestartBackoffOptions {
  /** Delay before the first restart, ms; doubles with each crash in a row. */
  baseMs: number;
  /** Crashes in a row after which to give up. */
  maxCrashes: number;
  /** Longest delay, ms (default 30 000). */
  capMs?: number;
  /** A child that ran this long before crashing resets the count, ms (default 60 000). */
  stableMs?: number;
}

/**
 * When to restart a crashed child: exponential backoff over the crashes in a row, and a give-up
 * after `maxCrashes` of them, so a child that cannot run is not restarted every second forever.
 * A run longer than `stableMs` means the previous crashes are history, and the count starts again.
 */
export class RestartBackoff {
  private crashes = 0;

  constructor(private readonly options: RestartBackoffOptions) {}

  /** The delay before the next restart, ms, after a crash that ended a run of `ranMs`; undefined: give up. */
  next(ranMs: number): number | undefined {
    if (ranMs >= (this.options.stableMs ?? 60_000)) this.crashes = 0;
    this.crashes++;
    if (this.crashes >= this.options.maxCrashes) return undefined;
    return Math.min(this.options.baseMs * 2 ** (this.crashes - 1), this.options.capMs ?? 30_000);
  }

  /** Crashes in a row so far. */
  get count(): number {
    return this.crashes;
  }
}
