/** How much history a room keeps. */
export interface Retention {
  /** Messages kept per room; older ones are dropped. */
  readonly maxMessages: number;
  /** Age after which messages are dropped, in ms; 0 keeps them regardless of age. */
  readonly maxAgeMs: number;
}

/** The `ts` below which messages are expired at `now` (`-Infinity` without an age limit). */
export function retentionCutoff(retention: Retention, now: number): number {
  return retention.maxAgeMs > 0 ? now - retention.maxAgeMs : -Infinity;
}
