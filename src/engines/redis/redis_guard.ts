import { ChatError } from "../../core/errors.ts";
import { storeFailed } from "../store_errors.ts";

/**
 * Runs a Redis call for the store: a `ChatError` stays as it is, anything else (Redis away, a
 * script error) becomes `store_failed`.
 */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ChatError) throw error;
    throw storeFailed(error);
  }
}
