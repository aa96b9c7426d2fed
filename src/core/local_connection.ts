import { ChatError } from "./errors.ts";
import { RateLimiter } from "./rate_limiter.ts";
import type { Clock, Connection, Outbound, Room } from "./types.ts";

/** Events of a room held back while the member's `joined` and replay go out first. */
interface JoinGate {
  readonly held: Outbound[];
}

/**
 * One connection of a member to this node (a person may have several, on this node and others):
 * its socket, its rooms, its rate limiters and its join gates. `id` is the connection's, and
 * `memberId` the person's. The hub owns it; the transport only sees the {@link Connection}.
 */
export class LocalConnection {
  /** The rooms this member is in, by id. */
  readonly rooms = new Map<string, Room>();
  /** The member's broadcast budget. */
  readonly limiter: RateLimiter;
  /** The member's budget of joins and leaves. */
  readonly membership: RateLimiter;
  /**
   * The member's public id: this connection's own id, or with a token the id of its subject,
   * shared by all its connections (devices) on every node (see `memberIdOf`).
   */
  memberId: string;
  /** What an embedder's connect hook attached to this member (see `ChatHooks`). */
  data: unknown = undefined;
  /** Who the client is for per-client limits: its token's subject, else its address. */
  client: string | undefined = undefined;
  /** Whether its token says `admin: true` (a moderator in every room). */
  admin = false;
  /** The message hook's judgements of this member's messages, one after the other. */
  judging: Promise<unknown> = Promise.resolve();
  readonly #gates = new Map<string, JoinGate>();
  /** Per room, the highest `seq` the member already has, while this node's feed is below it. */
  readonly #floors = new Map<string, number>();

  /** A member with its id, its current name, the name it asked for and its connection. */
  constructor(
    readonly id: string,
    public name: string,
    readonly wantedName: string,
    readonly connection: Connection,
    rate: { perSecond: number; burst: number; clock: Clock },
    /** Room name keys and upper-cased ids this member may join; any room when absent. */
    readonly allowedRooms?: ReadonlySet<string>,
    membership: { perSecond: number; burst: number; clock: Clock } = {
      perSecond: 1e9,
      burst: 1e9,
      clock: rate.clock,
    },
  ) {
    this.memberId = id;
    this.limiter = new RateLimiter(rate.perSecond, rate.burst, rate.clock);
    this.membership = new RateLimiter(membership.perSecond, membership.burst, membership.clock);
  }

  /**
   * Takes one message (a broadcast, an edit, a reaction, a direct message) from the member's
   * budget, or refuses with `rate_limited` and the seconds until one is free.
   */
  takeMessage(): void {
    if (this.limiter.take()) return;
    throw new ChatError("rate_limited", "too many messages; slow down", {
      retryAfterSeconds: Math.max(1, Math.ceil(this.limiter.waitMs() / 1000)),
    });
  }

  /**
   * Sends an event of `room`; holds it while that room's join is being answered; drops a stored
   * event at or below the room's floor (already sent by a replay, or before `since`).
   */
  deliver(room: string, out: Outbound): void {
    const gate = this.#gates.get(room);
    if (gate) {
      gate.held.push(out);
      return;
    }
    if (this.#floors.size > 0 && out.seq !== undefined) {
      const floor = this.#floors.get(room);
      if (floor !== undefined) {
        if (out.seq <= floor) return;
        this.#floors.delete(room); // this node's feed has passed the floor
      }
    }
    this.connection.send(out);
  }

  /** Starts holding events of `room` until {@link openGate}. */
  closeGate(room: string): void {
    this.#gates.set(room, { held: [] });
  }

  /** Sends a replayed stored event directly (past the gate). */
  replay(out: Outbound): void {
    this.connection.send(out);
  }

  /**
   * Sends what was held, except stored events at or below `floor` (the last `seq` the member has
   * had: replayed, or its `since`); later stored events at or below it are dropped too, since
   * this node's feed may still be behind what the member has seen elsewhere.
   */
  openGate(room: string, floor = 0): void {
    const gate = this.#gates.get(room);
    if (floor > 0) this.#floors.set(room, floor);
    else this.#floors.delete(room);
    if (!gate) return;
    this.#gates.delete(room);
    for (const out of gate.held) this.deliver(room, out);
  }
}
