/**
 * Connections still arriving: admitted (the client already sees its socket open) but not yet
 * connected and in their first room. A notice or a post to a room that a client joins "at once"
 * (`?room=`) waits for these, so that it neither fails with `no_such_room` nor misses the member
 * because it came a moment too early. The wait is bounded: an arrival never holds anyone up long.
 */
export class Arrivals {
  readonly #pending = new Set<Promise<void>>();

  /** Notes an arrival that ends (either way) when `done` settles. */
  track(done: Promise<unknown>): void {
    const settled = done.then(() => {}, () => {});
    this.#pending.add(settled);
    settled.then(() => this.#pending.delete(settled));
  }

  /** Resolves once the arrivals in progress now have ended, or after `maxMs` at the most. */
  async settled(maxMs: number): Promise<void> {
    if (this.#pending.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, maxMs));
    await Promise.race([Promise.all([...this.#pending]), late]);
    clearTimeout(timer);
  }
}
