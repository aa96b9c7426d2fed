import { roomOfTopic } from "../../core/room_feeds.ts";

/**
 * The Redis engine's key layout, in one place. A room's keys share the hash tag `{r:<room>}` so
 * that one script can touch them all and rooms spread over a Redis Cluster's slots; the room
 * directory lives under `{rooms}` and name claims under `{names}`.
 */
export class RedisKeys {
  /** Keys under `prefix` (default `chat`), so that several chats can share one Redis. */
  constructor(readonly prefix = "chat") {}

  /** A room's head: a hash with `seq` and `id`. */
  head(room: string): string {
    return `${this.prefix}:{r:${room}}:head`;
  }

  /** A room's log ids: a sorted set, every score 0, so members sort by id (= by `seq`). */
  ids(room: string): string {
    return `${this.prefix}:{r:${room}}:ids`;
  }

  /** A room's log entries: a hash from id to JSON. */
  data(room: string): string {
    return `${this.prefix}:{r:${room}}:data`;
  }

  /** The newest id retention dropped from a room. */
  trimmed(room: string): string {
    return `${this.prefix}:{r:${room}}:trimmed`;
  }

  /** An idempotency key of a room. */
  idempotency(room: string, key: string): string {
    return `${this.prefix}:{r:${room}}:idem:${key}`;
  }

  /** A member's read position in a room (in the room's slot). */
  readPosition(memberId: string, room: string): string {
    return `${this.prefix}:{r:${room}}:read:${memberId}`;
  }

  /** A named secret every process agrees on. */
  secret(name: string): string {
    return `${this.prefix}:secret:${name}`;
  }

  /** Rooms by id (JSON). */
  get roomsById(): string {
    return `${this.prefix}:{rooms}:by_id`;
  }

  /** Room ids by name key. */
  get roomsByName(): string {
    return `${this.prefix}:{rooms}:by_name`;
  }

  /** Room ids, as a sorted set ordered by id (oldest first). */
  get roomIds(): string {
    return `${this.prefix}:{rooms}:ids`;
  }

  /** Display-name claims: name key -> "<member id> <node id>". */
  get nameClaims(): string {
    return `${this.prefix}:{names}:claims`;
  }

  /** The prefix of nodes' liveness keys (in the claims' slot). */
  get nodeAlivePrefix(): string {
    return `${this.prefix}:{names}:node:`;
  }

  /**
   * The pub/sub channel of a bus topic. A room's topic is in the room's slot (a script that
   * appends to the room publishes on it); another topic may be spread over `part`s, each with its
   * own hash tag, so that on a Cluster its traffic is shared by several shards.
   */
  channel(topic: string, part?: number): string {
    const room = roomOfTopic(topic);
    if (room !== undefined) return `${this.prefix}:{r:${room}}:bus`;
    return part === undefined
      ? `${this.prefix}:bus:${topic}`
      : `${this.prefix}:{bus:${topic}:${part}}`;
  }
}
