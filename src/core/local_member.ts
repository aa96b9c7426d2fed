import { RateLimiter } from "./rate_limiter.ts";
import type { Clock, Connection, Outbound, Room } from "./types.ts";

/** Events of a room held back while the member's `joined` and replay go out first. */
interface JoinGate {
  readonly held: Outbound[];
  /** The highest `seq` the replay sent: held stored events at or below it are duplicates. */
  replayedSeq: number;
}

/** The `seq` of an outbound event that is a stored event. */
function seqOf(out: Outbound): number | undefined {
  return out.event.event === "broadcast" ? out.event.seq : undefined;
}

/**
 * A member connected to this node: its socket, its rooms, its rate limiter and its join gates.
 * The hub owns it; the transport only sees the {@link Connection}.
 */
export class LocalMember {
  /** The rooms this member is in, by id. */
  readonly rooms = new Map<string, Room>();
  /** The member's broadcast budget. */
  readonly limiter: RateLimiter;
  readonly #gates = new Map<string, JoinGate>();

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

  /** Sends an event of `room`, or holds it while that room's join is being answered. */
  deliver(room: string, out: Outbound): void {
    const gate = this.#gates.get(room);
    if (gate) gate.held.push(out);
    else this.connection.send(out);
  }

  /** Starts holding events of `room` until {@link openGate}. */
  closeGate(room: string): void {
    this.#gates.set(room, { held: [], replayedSeq: 0 });
  }

  /** Sends a replayed stored event directly; its live copy, if held, is dropped. */
  replay(room: string, out: Outbound): void {
    const gate = this.#gates.get(room);
    const seq = seqOf(out);
    if (gate && seq !== undefined && seq > gate.replayedSeq) gate.replayedSeq = seq;
    this.connection.send(out);
  }

  /** Sends what was held, minus the stored events the replay already sent. */
  openGate(room: string): void {
    const gate = this.#gates.get(room);
    if (!gate) return;
    this.#gates.delete(room);
    for (const out of gate.held) {
      const seq = seqOf(out);
      if (seq === undefined || seq > gate.replayedSeq) this.connection.send(out);
    }
  }
}
