/**
 * The hub's public types: what it is built from (`HubDeps`, `HubSettings`), what its commands
 * answer (`JoinResult`, `MemberList`, `HistoryPage`, `RoomDetails`), how a member asks to change
 * a message (`ChangeRequest`), and what it reports (`HubStats`, `HubObserver`).
 *
 * @module
 */
import type { ReadState } from "./read_positions.ts";
import type { Role } from "./room_access.ts";
import type { Bus } from "./bus.ts";
import type { MessageHook } from "./hooks.ts";
import type { NameRegistry } from "./name_registry.ts";
import type { Store } from "./store.ts";
import type { Clock, IdSource, Logger, MessagePage, Outbound, Room } from "./types.ts";

/** The limits and timings the hub enforces. */
export interface HubSettings {
  /** Longest message, in characters. */
  readonly maxMessageLength: number;
  /** Sustained broadcasts per second per connection. */
  readonly ratePerSecond: number;
  /** Broadcasts a connection may send at once above its sustained rate. */
  readonly rateBurst: number;
  /** Rooms one connection may be in at once. */
  readonly maxRoomsPerConnection: number;
  /** How often this node tells others it is alive, in ms. */
  readonly heartbeatMs: number;
  /** How long without a word before a node's members are dropped, in ms. */
  readonly presenceTimeoutMs: number;
  /** How long an event that came early waits for a missing one before the store is read, in ms. */
  readonly gapGraceMs?: number;
  /** Sustained joins and leaves per second per connection. */
  readonly joinRatePerSecond: number;
  /** Joins and leaves allowed at once above that. */
  readonly joinBurst: number;
  /** Rooms the server holds at most (default: no limit). */
  readonly maxRooms?: number;
  /** Messages one `since` replay may send; a longer backlog gets `recovered: false`. */
  readonly maxReplay: number;
  /**
   * Members above which a room is large: its joins and leaves go out as
   * `presence_diff` events every `presenceDiffMs`, and `joined`/`list` give a page of names.
   */
  readonly largeRoom: number;
  /** How often a large room's presence diff is sent, in ms. */
  readonly presenceDiffMs: number;
  /** Seconds after which an empty room that never had a message is removed (0: never). */
  readonly roomIdleTtlSeconds: number;
  /** Rooms one client may create per hour, sustained (bursts of 20). */
  readonly roomsPerHour: number;
}

/** What the hub is built from; every moving part is passed in. */
export interface HubDeps {
  /** Rooms and history. */
  readonly store: Store;
  /** How this node talks to the other nodes. */
  readonly bus: Bus;
  /** Time. */
  readonly clock: Clock;
  /** Ids for members, rooms and messages. */
  readonly ids: IdSource;
  /** This node's id, unique among nodes (the bus uses the same). */
  readonly nodeId: string;
  /** Limits and timings. */
  readonly settings: HubSettings;
  /** Structured log lines (renames, lost nodes, repairs). */
  readonly log?: Logger;
  /** Randomness for generated guest names. */
  readonly random?: () => number;
  /**
   * The wire's serialiser (`wire/events.ts`), so that an event is serialised once, for local
   * members and other nodes alike; the core itself knows no format.
   */
  readonly encode: (out: Outbound) => string;
  /** Told of each commit, for metrics. */
  readonly observer?: HubObserver;
  /** An embedder's judge of every message before it is stored. */
  readonly onMessage?: MessageHook;
  /** Where names are claimed across processes (the Redis engine), if anywhere. */
  readonly names?: NameRegistry;
}

/** A room with its member names, as `GET /rooms/:id` shows it. */
export interface RoomDetails extends Room {
  /** Names of the members connected to it on every node. */
  readonly members: string[];
}

/** What `join` gives back: the room as the member now sees it, and what to call once answered. */
export interface JoinResult {
  /** The room. */
  readonly room: Room;
  /** Names of its members on every node (the first page of them in a large room). */
  readonly members: string[];
  /** In a large room: how many members it has, and that `members` is only the first page. */
  readonly page?: { readonly count: number; readonly more: boolean };
  /** The room's `seq` as delivered to its members here: live events continue after it. */
  readonly seq: number;
  /** With `since`: whether everything missed was still kept. */
  readonly recovered?: boolean;
  /** The member's read state in the room (members only; absent for observers). */
  readonly read?: ReadState;
  /** The member's role in the room (members only). */
  readonly role?: Role;
  /**
   * Sends the replayed messages, page by page (awaiting `drained` between pages, so that a slow
   * socket is not overrun), then the events held meanwhile. Call it after `joined`; it stops early
   * if the member leaves the room meanwhile.
   */
  readonly flush: (drained?: () => Promise<void>) => Promise<void>;
}

/** Members of a room, as `list` answers. */
export interface MemberList {
  /** The room's id. */
  readonly room: string;
  /** Names of its members on every node (a page of them in a large room). */
  readonly members: string[];
  /** In a large room: the member count, where the page starts, and whether more follow. */
  readonly page?: { readonly count: number; readonly offset: number; readonly more: boolean };
}

/** A page of a room's history, as `history` answers. */
export interface HistoryPage extends MessagePage {
  /** The room's id. */
  readonly room: string;
}

/** A change to a stored message, as a member asks for it (`room` as for a message). */
export type ChangeRequest =
  | {
    readonly kind: "edit";
    readonly room?: string;
    readonly target: string;
    readonly message: string;
  }
  | { readonly kind: "delete"; readonly room?: string; readonly target: string }
  | {
    readonly kind: "react";
    readonly room?: string;
    readonly target: string;
    readonly emoji: string;
  };

/** Counters that tests and operators read. */
export interface HubStats {
  /** This node's id. */
  readonly nodeId: string;
  /** Members connected here. */
  readonly localMembers: number;
  /** Rooms whose bus topic this node listens to. */
  readonly subscribedRooms: string[];
  /** Stored events received from other nodes. */
  readonly roomMessagesReceived: number;
  /** Messages between nodes that did not parse and were dropped. */
  readonly nodeMessagesDropped: number;
  /** Other nodes heard from. */
  readonly knownNodes: string[];
  /** Reads of the store that filled gaps in a room's feed. */
  readonly gapRepairs: number;
  /** Full presence resyncs after the bus lost presence updates. */
  readonly presenceResyncs: number;
  /** Events delivered by repairs. */
  readonly messagesRepaired: number;
  /** Messages this node stored. */
  readonly messagesStored: number;
  /** Events this node handed to its members' connections. */
  readonly deliveries: number;
  /** Members connected on every node, as this node knows them. */
  readonly members: number;
  /** Rooms with at least one member on some node. */
  readonly activeRooms: number;
}

/** What the hub reports as it works, for metrics (the default reports nothing). */
export interface HubObserver {
  /** A message was stored; `ms` is how long the store took to commit it. */
  committed(ms: number): void;
}
