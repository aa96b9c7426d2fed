/**
 * Messages to members rather than to a room's log: direct messages (stored in the pair's own
 * log, see `direct.ts`), "typing" and notices from the server. Each is handed to this node's
 * connections at once and published on the bus for the other nodes, which hand it to theirs
 * ({@link MemberMessages.fromNode}).
 *
 * @module
 */
import type { Arrivals } from "./arrivals.ts";
import type { Bus } from "./bus.ts";
import { directEvent, directRoom } from "./direct.ts";
import { ChatError } from "./errors.ts";
import type { LocalConnection } from "./local_connection.ts";
import type { LocalRooms } from "./local_rooms.ts";
import { HISTORY_PAGE, isUlid, pageLimit, validateMessageText } from "./message.ts";
import { nameKey } from "./names.ts";
import type {
  DirectNodeMessage,
  MemberEventNodeMessage,
  MemberNodeMessage,
  NoticeNodeMessage,
  NoticeTarget,
  TypingNodeMessage,
} from "./node_messages.ts";
import type { Presence, PresenceMember } from "./presence.ts";
import type { RateLimits } from "./rate_limiter.ts";
import type { Store } from "./store.ts";
import type { Clock, DirectEvent, IdSource, Outbound, Room, TypingEvent } from "./types.ts";

/** The bus topic of every message to members (and of rooms swept away). */
export const NOTICES_TOPIC = "notices";
/** A member's "typing" is relayed at most this often from a node. */
const TYPING_INTERVAL_MS = 1000;

/** What member messages need: where to store, publish and deliver, and the limits. */
export interface MemberMessagesDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly locals: LocalRooms;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly maxMessageLength: number;
  /** Serialises an event once, for the bus. */
  readonly encode: (out: Outbound) => string;
  /** Per recipient (direct messages) and per room (typing). */
  readonly limits: { readonly directs: RateLimits; readonly typing: RateLimits };
  /** Told of each direct message stored (for the counters). */
  readonly stored: () => void;
  /** Connections still arriving (a notice waits for them a moment). */
  readonly arrivals: Arrivals;
  /** A room by id or name. */
  readonly resolveRoom: (ref: string) => Promise<Room>;
  /** The member's room `ref` (its only room when absent), or why not. */
  readonly roomOf: (member: LocalConnection, ref?: string) => Room | Promise<never>;
}

/** How long `notify` waits at most for connections still arriving. */
const ARRIVAL_WAIT_MS = 2000;

/** Direct messages, typing and notices, on every node. */
export class MemberMessages {
  readonly #lastTyping = new Map<string, number>();

  /** Member messages over these stores, buses and connections. */
  constructor(private readonly deps: MemberMessagesDeps) {}

  /**
   * The `typing` command: tells the other members of the member's room `ref` (its only room when
   * absent), on every node.
   */
  async typingIn(member: LocalConnection, ref?: string): Promise<void> {
    this.typing(member, await this.deps.roomOf(member, ref));
  }

  /**
   * Tells the other members of a room (on every node) that the member is typing. Not stored; at
   * most one a second per member is relayed from a node, the rest are dropped without a word.
   */
  typing(member: LocalConnection, room: Room): void {
    const { locals, bus, clock, limits } = this.deps;
    const now = clock();
    // Per member, not per connection: two devices typing at once still make one a second.
    if (now - (this.#lastTyping.get(member.memberId) ?? -Infinity) < TYPING_INTERVAL_MS) return;
    // And per room: many members (or sockets) typing at once cannot flood the room's members.
    if (limits.typing.take(room.id) > 0) return;
    this.#lastTyping.set(member.memberId, now);
    const event: TypingEvent = {
      event: "typing",
      room: room.id,
      member: member.name,
      memberId: member.memberId,
    };
    const out: Outbound = { event };
    locals.fanoutExcept(room.id, out, member.memberId);
    const message: TypingNodeMessage = {
      t: "typing",
      room: room.id,
      memberId: member.memberId,
      text: this.deps.encode(out),
    };
    bus.publish(NOTICES_TOPIC, message);
  }

  /** Forgets a member's last "typing" (its last connection here left). */
  forget(memberId: string): void {
    this.#lastTyping.delete(memberId);
  }

  /**
   * Sends a direct message to a member (by name or id, on any node): stored first in the pair's
   * private log, then pushed to every connection of the recipient and the sender's other
   * connections. Resolves with the event (the sender's answer).
   */
  async direct(member: LocalConnection, to: string, message: string): Promise<DirectEvent> {
    const { store, bus, presence, limits, ids, clock } = this.deps;
    const text = validateMessageText(message, this.deps.maxMessageLength);
    const recipient = this.findMember(to);
    // Acknowledging a message nobody can read would be a lie: refuse it before storing.
    if (presence.connectionsOf(recipient.memberId).every((c) => c.noDirect)) {
      throw new ChatError(
        "cannot_receive",
        `${recipient.name} uses a client that cannot show direct messages`,
        { member: recipient.name },
      );
    }
    member.takeMessage();
    // Per recipient too: many senders (or sockets) cannot bury one member in direct messages.
    if (limits.directs.take(recipient.memberId) > 0) {
      throw new ChatError(
        "rate_limited",
        `${recipient.name} is getting too many direct messages; try again shortly`,
      );
    }
    const stored = await store.appendMessage({
      event: "broadcast",
      room: directRoom(member.memberId, recipient.memberId),
      id: ids(),
      member: member.name,
      memberId: member.memberId,
      message: text,
      ts: clock(),
      to: recipient.name,
    });
    this.deps.stored();
    const event = directEvent(stored, recipient.memberId);
    const out: Outbound = { event };
    this.#deliverDirect(event.toId, event.fromId, member.id, out);
    const node: DirectNodeMessage = {
      t: "direct",
      to: event.toId,
      from: event.fromId,
      skip: member.id,
      text: this.deps.encode(out),
    };
    bus.publish(NOTICES_TOPIC, node);
    return event;
  }

  /**
   * A page of the direct messages between the member and another (by id, or by name while
   * connected), oldest first: only its two parties can read a pair's log.
   */
  async directHistory(
    member: LocalConnection,
    other: string,
    before: string | undefined,
    limit: number | undefined,
  ): Promise<{ with: string; messages: DirectEvent[]; more: boolean }> {
    const trimmed = other.trim();
    const otherId = isUlid(trimmed.toUpperCase())
      ? trimmed.toUpperCase()
      : this.findMember(trimmed).memberId;
    const page = await this.deps.store.readMessages(directRoom(member.memberId, otherId), {
      before,
      limit: pageLimit(limit, HISTORY_PAGE.default, HISTORY_PAGE.max),
    });
    const messages = page.messages.flatMap((m) =>
      "deleted" in m
        ? []
        : [directEvent(m, m.memberId === member.memberId ? otherId : member.memberId)]
    );
    return { with: otherId, messages, more: page.more };
  }

  /**
   * Pushes a `notice` (not stored) to every member, the members of a room, or one member (by id
   * or name), on every node; connections still arriving get it too.
   */
  async notifyTarget(
    target: "everyone" | { readonly room: string } | { readonly member: string },
    message: string,
  ): Promise<void> {
    await this.deps.arrivals.settled(ARRIVAL_WAIT_MS);
    let to: NoticeTarget;
    if (target === "everyone") to = { everyone: true };
    else if ("room" in target) to = { room: (await this.deps.resolveRoom(target.room)).id };
    else to = { member: this.findMember(target.member).memberId };
    this.notify(to, message);
  }

  /** Pushes a `notice` to its target on this node and, through the bus, on every other. */
  notify(to: NoticeTarget, message: string): void {
    this.#deliverNotice(to, message);
    const out: NoticeNodeMessage = { t: "notice", to, message };
    this.deps.bus.publish(NOTICES_TOPIC, out);
  }

  /** A connected member by id or name (on any node); `no_such_member` otherwise. */
  findMember(ref: string): PresenceMember {
    const { presence } = this.deps;
    const trimmed = ref.trim();
    const found = presence.connectionsOf(trimmed.toUpperCase())[0] ??
      presence.get(trimmed.toUpperCase()) ??
      presence.holdersOf(nameKey(trimmed))[0];
    if (!found) {
      throw new ChatError("no_such_member", `no member '${trimmed.slice(0, 64)}' is connected`);
    }
    return found;
  }

  /** A member message another node published: handed to this node's connections. */
  fromNode(message: Exclude<MemberNodeMessage, { t: "gone" }>): void {
    if (message.t === "member") this.#deliverTo(message.member, { text: message.text }, message);
    else if (message.t === "notice") this.#deliverNotice(message.to, message.message);
    else if (message.t === "typing") {
      this.deps.locals.fanoutExcept(message.room, { text: message.text }, message.memberId);
    } else this.#deliverDirect(message.to, message.from, message.skip, { text: message.text });
  }

  /**
   * Hands an event to every connection of a member, on this node and every other: but `skip` (a
   * connection that has it as its answer) and those in the room `notIn` (they hear it there).
   */
  toMember(
    memberId: string,
    out: Outbound,
    options: { readonly skip?: string; readonly notIn?: string } = {},
  ): void {
    this.#deliverTo(memberId, out, options);
    const message: MemberEventNodeMessage = {
      t: "member",
      member: memberId,
      ...(options.notIn === undefined ? {} : { notIn: options.notIn }),
      text: this.deps.encode(out),
    };
    this.deps.bus.publish(NOTICES_TOPIC, message);
  }

  #deliverTo(
    memberId: string,
    out: Outbound,
    options: { readonly skip?: string; readonly notIn?: string },
  ): void {
    for (const device of this.deps.locals.devicesOf(memberId)) {
      if (device.id === options.skip) continue;
      if (options.notIn !== undefined && device.rooms.has(options.notIn)) continue;
      device.connection.send(out);
    }
  }

  #deliverNotice(to: NoticeTarget, message: string): void {
    const { locals } = this.deps;
    if ("everyone" in to) {
      locals.everyone({ event: { event: "notice", message } });
    } else if ("room" in to) {
      locals.fanout(to.room, { event: { event: "notice", room: to.room, message } });
    } else {
      const out: Outbound = { event: { event: "notice", message } };
      for (const device of locals.devicesOf(to.member)) device.connection.send(out);
    }
  }

  /** Hands a direct message to this node's connections of its two parties, but the sender's. */
  #deliverDirect(toId: string, fromId: string, skip: string, out: Outbound): void {
    const { locals } = this.deps;
    const parties = toId === fromId ? [toId] : [toId, fromId];
    for (const party of parties) {
      for (const device of locals.devicesOf(party)) {
        if (device.id === skip) continue;
        device.connection.send(out);
        locals.deliveries++;
      }
    }
  }
}
