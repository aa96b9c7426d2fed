/**
 * What an engine gives a chat: where rooms and history live (the store), how nodes hear each
 * other (the bus), where names are claimed across processes (when the engine spans processes),
 * and how to let them all go in order. Each engine folder exports one `open…Engine` that returns
 * this; `src/mod.ts` picks one (adding an engine is a folder and a line there).
 *
 * @module
 */
import type { Settings } from "../config.ts";
import type { Bus } from "../core/bus.ts";
import type { NameRegistry } from "../core/name_registry.ts";
import type { Store } from "../core/store.ts";
import type { Clock, Logger } from "../core/types.ts";

/** The store and bus a chat runs on, and how to release them in order. */
export interface Engines {
  readonly store: Store;
  readonly bus: Bus;
  /** Which bus, for the log line and `stats`. */
  readonly busKind: string;
  /** Which store, for the log line. */
  readonly storeKind: string;
  /** Where names are claimed across processes (Redis), if anywhere. */
  readonly names?: NameRegistry;
  /** Commits what is pending, then releases everything. */
  close(): Promise<void>;
}

/** What opening an engine takes: the settings, this node's id, time and the log. */
export interface EngineContext {
  readonly settings: Settings;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly log: Logger;
}

/** How much history a room keeps, from the settings. */
export function retentionOf(settings: Settings): { maxMessages: number; maxAgeMs: number } {
  return { maxMessages: settings.retainMessages, maxAgeMs: settings.retainMs };
}
