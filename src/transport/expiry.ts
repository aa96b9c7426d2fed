/**
 * A timer for a wall-clock moment far ahead (a token's expiry): `setTimeout` takes at most
 * 2^31-1 ms (about 24.8 days), so a later moment is waited for in steps.
 *
 * @module
 */

/** The longest delay `setTimeout` honours. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Calls `expired` once the wall clock passes `ms`; returns the function that cancels it. */
export function atExpiry(ms: number, expired: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    timer = setTimeout(
      () => Date.now() < ms ? arm() : expired(),
      Math.min(MAX_DELAY_MS, Math.max(0, ms - Date.now())),
    );
  };
  arm();
  return () => clearTimeout(timer);
}
