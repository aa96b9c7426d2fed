import { RateLimiter } from "./rate_limiter.ts";
import type { Clock, Connection, Outbound, Room } from "./types.ts";

/** Live events held back while a room's history is replayed to this member. */
interface ReplayGate {
  readonly held: Outbound[];
  readonly replayed: Set<string>;
}

/**
 * A member connected to this node: its socket, its rooms, its rate limiter and its replay gates.
 * The hub owns it; the transport only sees the {@link Connection}.
 */
export class LocalMember {
  /** The rooms this member is in, by id. */
  readonly rooms = new Map<string, Room>();
  /** The member's broadcast budget. */
  readonly limiter: RateLimiter;
  readonly #gates = new Map<string, ReplayGate>();

  /** A member with its id, its current name, the name it asked for and its connection. */
  constructor(
    readonly id: string,
    public name: string,
    readonly wantedName: string,
    readonly connection: Connection,
    rate: { perSecond: number; burst: number; clock: Clock },
    /** Lower-cased room names and upper-cased ids this member may join; any room when absent. */
    readonly allowedRooms?: ReadonlySet<string>,
  ) {
    this.limiter = new RateLimiter(rate.perSecond, rate.burst, rate.clock);
  }

  /** Sends an event of `room`, or holds it while that room's history is being replayed. */
  deliver(room: string, out: Outbound): void {
    const gate = this.#gates.get(room);
    if (gate) gate.held.push(out);
    else this.connection.send(out.text);
  }

  /** Starts holding live events of `room` until {@link openGate}. */
  closeGate(room: string): void {
    this.#gates.set(room, { held: [], replayed: new Set() });
  }

  /** Sends a replayed message directly, remembering its id so that its live copy is dropped. */
  replay(room: string, out: Outbound): void {
    if (out.id) this.#gates.get(room)?.replayed.add(out.id);
    this.connection.send(out.text);
  }

  /** Sends what was held during the replay, minus what the replay already sent. */
  openGate(room: string): void {
    const gate = this.#gates.get(room);
    if (!gate) return;
    this.#gates.delete(room);
    for (const out of gate.held) {
      if (out.id === undefined || !gate.replayed.has(out.id)) this.connection.send(out.text);
    }
  }
}
