/**
 * Point reads of one Deno KV handle, coalesced: a read asked while others are on their way waits
 * for them and goes with everything asked meanwhile, as `getMany` calls of ten keys (the same key
 * asked twice is read once). A read alone goes at once.
 *
 * Deno KV serves every read of a handle on one SQLite thread, one operation at a time: a hundred
 * members joining together queued several hundred single reads there. Coalesced, they are a few
 * dozen. Each read still starts after it was asked, so it sees every commit made before then.
 *
 * @module
 */

/** `getMany` takes at most this many keys. */
const GET_MANY = 10;

interface Waiter {
  resolve(entry: Deno.KvEntryMaybe<unknown>): void;
  reject(error: unknown): void;
}

interface Asked {
  readonly key: Deno.KvKey;
  readonly waiters: Waiter[];
}

/** The text that tells keys apart, for keys of strings (others are never merged). */
function keyText(key: Deno.KvKey): string | undefined {
  return key.every((part) => typeof part === "string") ? key.join("\u0000") : undefined;
}

/** Coalesces the point reads of one KV handle (see the module). */
export class KvGets {
  readonly #kv: Deno.Kv;
  /** Reads asked since the last batch went, by key text (or a fresh symbol). */
  readonly #asked = new Map<string | symbol, Asked>();
  #reading = false;

  /** Reads of `kv`. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** The entry at `key`, read after this call. */
  get<T>(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<T>> {
    return new Promise((resolve, reject) => {
      const text = keyText(key) ?? Symbol();
      let asked = this.#asked.get(text);
      if (!asked) this.#asked.set(text, asked = { key, waiters: [] });
      asked.waiters.push({ resolve: resolve as Waiter["resolve"], reject });
      if (!this.#reading) this.#read();
    });
  }

  /** Reads what was asked, then what was asked meanwhile, until nothing is left. */
  async #read(): Promise<void> {
    this.#reading = true;
    try {
      while (this.#asked.size > 0) {
        const batch = [...this.#asked.values()];
        this.#asked.clear();
        const chunks: Asked[][] = [];
        for (let i = 0; i < batch.length; i += GET_MANY) chunks.push(batch.slice(i, i + GET_MANY));
        await Promise.all(chunks.map((chunk) => this.#readChunk(chunk)));
      }
    } finally {
      this.#reading = false;
    }
  }

  async #readChunk(chunk: Asked[]): Promise<void> {
    try {
      const entries = await this.#kv.getMany(chunk.map((asked) => asked.key));
      chunk.forEach((asked, i) => {
        for (const waiter of asked.waiters) waiter.resolve(entries[i]);
      });
    } catch (error) {
      for (const asked of chunk) for (const waiter of asked.waiters) waiter.reject(error);
    }
  }
}

const handles = new WeakMap<Deno.Kv, KvGets>();

/** The coalesced point reads of `kv` (one per handle, shared by every part that reads it). */
export function kvGets(kv: Deno.Kv): KvGets {
  let gets = handles.get(kv);
  if (!gets) handles.set(kv, gets = new KvGets(kv));
  return gets;
}
