import type { Bus, BusHandler, BusMessage, GapHandler } from "../../core/bus.ts";

/** The shared medium of {@link MemoryBus}es: buses built on one network hear each other. */
export class MemoryNetwork {
  /** Subscribers by topic. */
  readonly topics = new Map<string, Set<{ bus: MemoryBus; handler: BusHandler }>>();
  #held?: (() => void)[];

  /** Holds every delivery until {@link resume}, as a slow or partitioned network would. */
  pause(): void {
    this.#held ??= [];
  }

  /** Delivers what was held, in order, and goes back to prompt delivery. */
  resume(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const deliver of held) deliver();
  }

  /** Delivers now (in a microtask) or, while paused, later. */
  deliver(deliver: () => void): void {
    if (this.#held) this.#held.push(deliver);
    else queueMicrotask(deliver);
  }
}

/**
 * A bus inside one isolate. Alone it connects nothing (a single isolate needs no bus); several
 * buses on one {@link MemoryNetwork} behave like nodes, which lets tests drive replication with a
 * fake clock. Delivery is asynchronous and copies the message, as a `BroadcastChannel` would.
 */
export class MemoryBus implements Bus {
  readonly #unsubscribers = new Set<() => void>();
  readonly #id: string;

  /** A bus on `network` (a private one by default), publishing as `nodeId`. */
  constructor(
    private readonly network: MemoryNetwork = new MemoryNetwork(),
    nodeId: string = crypto.randomUUID(),
  ) {
    this.#id = nodeId;
  }

  /** Delivers a copy to every other bus's subscribers of `topic`, in a microtask. */
  publish(topic: string, message: BusMessage): void {
    for (const sub of this.network.topics.get(topic) ?? []) {
      if (sub.bus === this) continue;
      const copy = structuredClone(message);
      this.network.deliver(() => sub.handler(copy, this.#id));
    }
  }

  /** Starts receiving `topic`. This bus never loses a message, so `onGap` is never called. */
  subscribe(topic: string, handler: BusHandler, _onGap?: GapHandler): () => void {
    let subs = this.network.topics.get(topic);
    if (!subs) this.network.topics.set(topic, subs = new Set());
    const sub = { bus: this as MemoryBus, handler };
    subs.add(sub);
    const unsubscribe = () => {
      subs.delete(sub);
      if (subs.size === 0) this.network.topics.delete(topic);
      this.#unsubscribers.delete(unsubscribe);
    };
    this.#unsubscribers.add(unsubscribe);
    return unsubscribe;
  }

  /** Stops every subscription of this bus. */
  close(): void {
    for (const unsubscribe of [...this.#unsubscribers]) unsubscribe();
  }
}
