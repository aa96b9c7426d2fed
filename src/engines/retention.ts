import type { LogPosition } from "../core/log_order.ts";

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

/**
 * The one retention rule of every store, as a test on a message: it is kept while it is among the
 * room's newest `maxMessages` (by `seq`) and not older than `maxAgeMs` (by `ts`).
 */
export function keeps(
  retention: Retention,
  head: LogPosition,
  now: number,
): (entry: { readonly seq: number; readonly ts: number }) => boolean {
  const lowestSeq = head.seq - retention.maxMessages;
  const cutoff = retentionCutoff(retention, now);
  return (entry) => entry.seq > lowestSeq && entry.ts >= cutoff;
}
