/**
 * Where display names are claimed atomically across every process (the Redis engine's). Without
 * one, names are unique per process at once and across isolates by settlement (see
 * `name_keeping.ts`); with one, a name is handed out only after its claim succeeded, so two
 * processes racing for a name never both get it.
 */
export interface NameRegistry {
  /**
   * Claims a name key for a member; false when another member holds it (on a live node). Rejects
   * with `store_failed` when the registry cannot be reached.
   */
  claim(key: string, memberId: string): Promise<boolean>;
  /** Gives up a member's claim (nothing if someone else holds the name). */
  release(key: string, memberId: string): void;
  /** Stops keeping this node's claims alive and releases them. */
  close(): Promise<void>;
}
