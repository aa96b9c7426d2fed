import { ChatError } from "../../core/errors.ts";
import { storeFailed } from "../store_errors.ts";

/**
 * SQLite lets one writer in at a time: isolates sharing a KV file see "database is locked" and
 * should retry. Whether an error is that.
 */
export function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is locked|busy/i.test(error.message);
}

/** Runs `work`, retrying with backoff (about a second in all) while the database is busy. */
export async function retryBusy<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isBusy(error) || attempt >= 12) throw error;
      await new Promise((r) => setTimeout(r, Math.min(100, 2 ** attempt) + Math.random() * 5));
    }
  }
}

/**
 * Runs a KV call for the store, retrying while the database is busy: a `ChatError` stays as it
 * is, anything else becomes `store_failed`.
 */
export async function kvGuarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await retryBusy(work);
  } catch (error) {
    if (error instanceof ChatError) throw error;
    throw storeFailed(error);
  }
}
