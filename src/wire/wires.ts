import { ChatError } from "../core/errors.ts";
import type { Outbound, PresenceDiffEvent, PushEvent } from "../core/types.ts";
import { type ParsedFrame, parseFrame } from "./commands.ts";
import { answer, encode, errorEvent, withRe } from "./events.ts";

/** The names of the wires a socket may speak (`/ws?wire=`), plus seed 003's `/chat/join`. */
export type WireName = "json" | "basic" | "text" | "chatty";

/**
 * How one kind of client talks: how its frames become commands, and how events, answers and
 * errors become its frames. The session speaks to every client through one of these; the core
 * never knows which.
 */
export interface Wire {
  /** The wire's name. */
  readonly name: WireName;
  /** Whether `me` and `joined` are sent on connect (the JSON wire's greeting). */
  readonly greets: boolean;
  /** Whether the client shows direct messages (others refuse a `direct` to such a member). */
  readonly directs: boolean;
  /** The frames of one incoming text frame (`custom`: the embedder's command names). */
  parse(frame: string, custom: ReadonlySet<string>): ParsedFrame[];
  /**
   * The frame for an event pushed to the member, or `undefined` to send nothing (or several
   * frames: a large room's `presence_diff` for a wire that knows only joins and leaves; or a
   * binary frame: a binary message, on the wires that relay them as such).
   */
  push(out: Outbound): Frame | readonly string[] | undefined;
  /** The frame acknowledging the member's own stored message (`re` echoed where it can be). */
  acknowledge(out: Outbound, re?: string): Frame | undefined;
  /** The frame for a direct answer to a command. */
  answer(event: object, re?: string): string | undefined;
  /** The frame for an error. */
  error(error: ChatError, re?: string): string;
  /** What the member sees of its own arrival in its first room, if anything (no greeting). */
  arrived(name: string): string | undefined;
}

/** One WebSocket frame: text, or a binary message's bytes. */
export type Frame = string | Uint8Array;

const BROADCAST_START = '{"event":"broadcast"';
/** Only a key can hold this sequence in JSON text (a quote inside a string value is escaped). */
const BINARY_KEY = '"binary":"';

/** An acknowledgement is always one frame (a message's). */
function single(frames: Frame | readonly string[] | undefined): Frame | undefined {
  return typeof frames === "string" || frames instanceof Uint8Array ? frames : frames?.[0];
}

/**
 * The bytes of a binary message, decoded once per event for every member it goes to; `null` for
 * any other event (told apart by its text, without parsing it).
 */
function binaryOf(out: Outbound): Uint8Array | null {
  if (out.bytes !== undefined) return out.bytes;
  const text = encode(out);
  if (!text.startsWith(BROADCAST_START) || !text.includes(BINARY_KEY)) return out.bytes = null;
  const binary = (event(out) as { binary?: string }).binary;
  return out.bytes = binary === undefined ? null : Uint8Array.fromBase64(binary);
}

const JSON_WIRE: Wire = {
  name: "json",
  greets: true,
  directs: true,
  parse: (frame, custom) => [parseFrame(frame, custom)],
  // A binary message goes out as the same binary frame (seed 001); everything else as JSON text.
  push: (out) => binaryOf(out) ?? encode(out),
  acknowledge: (out, re) => binaryOf(out) ?? withRe(encode(out), re),
  answer,
  error: errorEvent,
  arrived: () => undefined,
};

/**
 * Seed 000's client: nothing it did not ask for but `broadcast` events (no `me`/`joined` on
 * connect, no `join`/`leave`, no notices); everything else as the JSON wire.
 */
const BASIC_WIRE: Wire = {
  ...JSON_WIRE,
  name: "basic",
  greets: false,
  directs: false,
  // Only messages: a check of the text's start needs no parsing (events serialise `event` first).
  push: (out) =>
    (out.event ? out.event.event === "broadcast" : out.text.startsWith(BROADCAST_START))
      ? binaryOf(out) ?? encode(out)
      : undefined,
};

const parsed = new WeakMap<Outbound, PushEvent>();

/**
 * The event behind an outbound. One that came from another node as text is parsed once, for all
 * the members of this node that speak another wire than JSON.
 */
function event(out: Outbound): PushEvent {
  if (out.event) return out.event;
  let e = parsed.get(out);
  if (!e) parsed.set(out, e = JSON.parse(out.text) as PushEvent);
  return e;
}

/** Lines of text in, each a message to the connection's room (blank lines are skipped). */
function lines(frame: string): ParsedFrame[] {
  return frame.split("\n").map((line) => line.replace(/\r$/, "")).filter((line) =>
    line.trim() !== ""
  ).map((message) => ({ ok: true, command: { command: "broadcast", message } }));
}

/** Seed 002's limit on one line, in characters. */
export const TEXT_LINE_MAX = 500;

/** Seed 002's lines: over {@link TEXT_LINE_MAX} characters, refused as seed 002 refused them. */
function textLines(frame: string): ParsedFrame[] {
  return lines(frame).map((parsed) =>
    parsed.ok && parsed.command.command === "broadcast" &&
      [...parsed.command.message].length > TEXT_LINE_MAX
      ? {
        ok: false,
        error: new ChatError(
          "too_large",
          `message too long (max ${TEXT_LINE_MAX} characters)`,
          { limit: TEXT_LINE_MAX },
        ),
      }
      : parsed
  );
}

/**
 * The frames of a large room's `presence_diff` for a wire that knows only joins and leaves: one
 * per member, as the wire announces each (`joined`, `left`).
 */
function diffFrames(
  diff: PresenceDiffEvent,
  joined: (name: string) => string,
  left: (name: string) => string,
): string[] {
  return [...diff.joins.map((j) => joined(j.member)), ...diff.leaves.map((l) => left(l.member))];
}

/** A message's text, or what a text-only client is shown of a binary one. */
function textOf(message: { readonly message?: string; readonly binary?: string }): string {
  if (message.message !== undefined) return message.message;
  const bytes = Math.floor((message.binary?.length ?? 0) * 3 / 4);
  return `[binary message, about ${bytes} bytes]`;
}

const textJoined = (name: string) => `Server: ${name} has joined the chat`;
const textLeft = (name: string) => `Server: ${name} has left the chat`;

/** Seed 002's client: lines of text in; `<name>: <message>` and `Server: ...` lines out. */
const TEXT_WIRE: Wire = {
  name: "text",
  greets: false,
  directs: false,
  parse: textLines,
  push: (out) => {
    const e = event(out);
    switch (e.event) {
      case "broadcast":
        return "deleted" in e ? undefined : `${e.member}: ${textOf(e)}`;
      case "join":
        return textJoined(e.member);
      case "leave":
        return textLeft(e.member);
      case "presence_diff":
        return diffFrames(e, textJoined, textLeft);
      case "renamed":
        return `Server: ${e.from} is now ${e.to}`;
      case "notice":
        return `Server: ${e.message}`;
      case "me":
        return `Server: you are ${e.member}`;
      default:
        return undefined;
    }
  },
  acknowledge: (out) => single(TEXT_WIRE.push(out)),
  answer: () => undefined,
  error: (error) => `Server: ${error.message}`,
  arrived: textJoined,
};

const chattyJoined = (name: string) =>
  JSON.stringify({ event_type: "participant_joined", participant: name });
const chattyLeft = (name: string) =>
  JSON.stringify({ event_type: "participant_left", participant: name });

/** Seed 003's client (`/chat/join`): text in; `event_type` objects and `{text, participant}` out. */
const CHATTY_WIRE: Wire = {
  name: "chatty",
  greets: false,
  directs: false,
  parse: lines,
  push: (out) => {
    const e = event(out);
    switch (e.event) {
      case "broadcast":
        return "deleted" in e
          ? undefined
          : JSON.stringify({ text: textOf(e), participant: e.member });
      case "join":
        return chattyJoined(e.member);
      case "leave":
        return chattyLeft(e.member);
      case "presence_diff":
        return diffFrames(e, chattyJoined, chattyLeft);
      case "notice":
        return JSON.stringify({ text: e.message, participant: "Server" });
      default:
        return undefined;
    }
  },
  acknowledge: (out) => single(CHATTY_WIRE.push(out)),
  answer: () => undefined,
  error: (error) =>
    JSON.stringify({ event_type: "error", code: error.code, message: error.message }),
  arrived: chattyJoined,
};

const WIRES: Record<WireName, Wire> = {
  json: JSON_WIRE,
  basic: BASIC_WIRE,
  text: TEXT_WIRE,
  chatty: CHATTY_WIRE,
};

/** The wire of a name; `undefined` for a name that is none. */
export function wireNamed(name: string): Wire | undefined {
  return Object.hasOwn(WIRES, name) ? WIRES[name as WireName] : undefined;
}
