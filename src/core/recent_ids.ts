/**
 * The last `capacity` ids seen, for dropping duplicates when a gap is repaired from the store.
 * Adding is O(1); the oldest id is forgotten when full.
 */
export class RecentIds {
  readonly #set = new Set<string>();

  /** Remembers at most `capacity` ids. */
  constructor(private readonly capacity: number) {}

  /** Remembers an id. */
  add(id: string): void {
    this.#set.add(id);
    if (this.#set.size > this.capacity) {
      this.#set.delete(this.#set.values().next().value!);
    }
  }

  /** Whether the id was seen recently. */
  has(id: string): boolean {
    return this.#set.has(id);
  }
}
