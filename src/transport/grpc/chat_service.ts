import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import {
  universalServerRequestFromFetch,
  universalServerResponseToFetch,
} from "@connectrpc/connect/protocol";
import type { Context, Hono } from "hono";
import { ChatError } from "../../core/errors.ts";
import type { Hub } from "../../core/hub.ts";
import type { ChatMessage, Outbound, PushEvent } from "../../core/types.ts";
import { validateDisplayName } from "../../core/names.ts";
import { isBinaryProto, malformedBinary, malformedResponse } from "./malformed.ts";
import { ChatService, type Message, MessageSchema } from "./gen/chat_v1/chat_pb.ts";
import { checkRoomAllowed, type Grant, grantOf, viewerOf } from "../tokens.ts";
import { atExpiry } from "../expiry.ts";

/**
 * The token's grant of a call, when tokens are on (its subject wins over names sent): verified
 * already by the HTTP app's guard (Connect, gRPC-Web), or verified here on the gRPC port. A bad
 * token rejects with `unauthorized` (UNAUTHENTICATED) before the call does anything.
 */
export const GRANT = createContextKey<() => Promise<Grant | undefined>>(() =>
  Promise.resolve(undefined)
);

/** The Connect error code for a chat error code. */
function connectCode(code: ChatError["code"]): Code {
  switch (code) {
    case "no_such_room":
    case "no_such_member":
    case "not_found":
      return Code.NotFound;
    case "rate_limited":
    case "over_capacity":
      return Code.ResourceExhausted;
    case "store_failed":
    case "shutting_down":
      return Code.Unavailable;
    case "forbidden":
    case "room_forbidden":
    case "banned":
    case "muted":
    case "origin_forbidden":
      return Code.PermissionDenied;
    case "unauthorized":
    case "token_expired":
      return Code.Unauthenticated;
    case "internal":
      return Code.Internal;
    default:
      return Code.InvalidArgument;
  }
}

/** Runs `work`, turning a chat error into the Connect error a client expects. */
async function rpc<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ChatError) throw new ConnectError(error.message, connectCode(error.code));
    throw error;
  }
}

/** The call's grant (verified on first use), with a bad token as UNAUTHENTICATED. */
function grantFor(context: HandlerContext): Promise<Grant | undefined> {
  return rpc(() => context.values.get(GRANT)());
}

/** A stored chat message as seed 004's `Message`. */
function toMessage(message: ChatMessage): Message {
  return create(MessageSchema, {
    id: message.id,
    sender: message.member,
    content: message.message ?? "",
    timestamp: timestampFromMs(message.ts),
  });
}

/**
 * Admits a `ConnectChat` stream like a socket (`CHAT_MAX_CONNECTIONS`, the per-address cap), or
 * throws `over_capacity`; returns its release. Each mount sets it with the caller's address.
 */
export const HOLD_STREAM = createContextKey<() => () => void>(() => () => {});

/** Who the caller is, for its room creations (token subject, else address). */
export const CLIENT = createContextKey<string | undefined>(undefined);

/**
 * A bounded queue that an async generator drains: what a stream's member is sent. Past `maxBytes`
 * waiting (a reader that stopped reading) it calls `overflow` instead of growing.
 */
class Inbox {
  readonly #items: ChatMessage[] = [];
  #bytes = 0;
  #wake?: () => void;

  constructor(private readonly maxBytes: number, private readonly overflow: () => void) {}

  push(message: ChatMessage): void {
    this.#bytes += sizeOf(message);
    if (this.#bytes > this.maxBytes) return this.overflow();
    this.#items.push(message);
    this.#wake?.();
  }

  async *drain(signal: AbortSignal): AsyncGenerator<ChatMessage> {
    const aborted = new Promise<void>((resolve) =>
      signal.addEventListener("abort", () => resolve())
    );
    while (!signal.aborted) {
      const next = this.#items.shift();
      if (next) {
        this.#bytes -= sizeOf(next);
        yield next;
        continue;
      }
      await Promise.race([aborted, new Promise<void>((resolve) => this.#wake = resolve)]);
      this.#wake = undefined;
    }
  }
}

/** About what a message takes while it waits to be sent. */
function sizeOf(message: ChatMessage): number {
  return (message.message?.length ?? message.binary?.length ?? 0) * 2 + 128;
}

/** The stored message behind an outbound event, if it is one. */
function storedOf(out: Outbound): ChatMessage | undefined {
  if (out.seq === undefined) return undefined;
  const event = (out.event ?? JSON.parse(out.text)) as PushEvent;
  return event.event === "broadcast" && !("deleted" in event) ? event : undefined;
}

/** What ends a `ConnectChat` stream early, and how the client is told. */
class StreamEnd {
  readonly #controller = new AbortController();
  #status?: ConnectError;

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Ends the stream; with a status, the client gets it instead of a clean end. */
  end(status?: ConnectError): void {
    this.#status ??= status;
    this.#controller.abort();
  }

  /** Throws the status the stream ended with, if any (else the stream ends cleanly). */
  throwIfFailed(context: HandlerContext): void {
    if (this.#status) throw this.#status;
    // A deadline (grpc-timeout) aborts the call's signal with DEADLINE_EXCEEDED as its reason.
    if (context.signal.aborted && context.signal.reason instanceof ConnectError) {
      throw context.signal.reason;
    }
  }
}

/**
 * Seed 004's `chat_v1.ChatService` on the hub: a chat is a room. `CreateChat` makes one (named,
 * or `chat-<id>`), `ConnectChat` joins it as `username` and streams its messages from the moment
 * of the call until the client goes (or the server shuts down: UNAVAILABLE), `SendMessage` stores
 * one in the sender's name. Every call checks all it can before it acts, so a call that fails
 * changes nothing: no room created, no message stored, no member left behind. One implementation,
 * registered on the HTTP app (Connect, gRPC-Web) and on the gRPC port alike.
 */
export function chatServiceRoutes(
  hub: Hub,
  streams: Set<() => void>,
  limits: { readonly maxQueuedBytes: number },
) {
  return (router: ConnectRouter) =>
    router.service(ChatService, {
      createChat: (request, context) =>
        rpc(async () => {
          const name = request.name.trim() || `chat-${crypto.randomUUID().slice(0, 8)}`;
          const grant = await grantFor(context);
          checkRoomAllowed(grant, { id: "", name });
          const room = await hub.resolveRoom(name, true, context.values.get(CLIENT));
          // Someone's private room of that name does not exist for others.
          await hub.visit(room.id, viewerOf(grant)).catch(() => {
            throw new ChatError("room_exists", `a room named '${name}' exists`);
          });
          return { chatId: room.id };
        }),
      async *connectChat(request, context: HandlerContext) {
        const grant = await grantFor(context);
        const username = grant?.name ??
          await rpc(() =>
            request.username.trim() ? validateDisplayName(request.username) : undefined
          );
        // The chat must exist (a join would create a room of that name), and be allowed.
        const room = await rpc(() => hub.visit(request.chatId, viewerOf(grant)));
        await rpc(() => checkRoomAllowed(grant, room));
        const release = await rpc(() => context.values.get(HOLD_STREAM)());
        const ended = new StreamEnd();
        const inbox = new Inbox(limits.maxQueuedBytes, () =>
          ended.end(
            new ConnectError(
              "the stream fell too far behind; connect again",
              Code.ResourceExhausted,
            ),
          ));
        const cancelled = () => ended.end();
        const shutdown = () =>
          ended.end(new ConnectError("the server is shutting down", Code.Unavailable));
        context.signal.addEventListener("abort", cancelled);
        streams.add(shutdown);
        // A stream does not outlive its token (the client calls again with a fresh one).
        const cancelExpiry = grant &&
          atExpiry(grant.exp * 1000, () =>
            ended.end(
              new ConnectError(
                "the token expired; call again with a fresh one",
                Code.Unauthenticated,
              ),
            ));
        try {
          const member = await rpc(() =>
            hub.connect(
              {
                send: (out) => {
                  const stored = storedOf(out);
                  if (stored) inbox.push(stored);
                },
              },
              username,
              grant?.rooms,
              grant?.subject,
              { admin: grant?.admin === true },
            )
          );
          try {
            const joined = await rpc(() => hub.join(member, room.id));
            await joined.flush();
            for await (const message of inbox.drain(ended.signal)) yield toMessage(message);
            ended.throwIfFailed(context);
          } finally {
            hub.disconnect(member);
          }
        } finally {
          cancelExpiry?.();
          streams.delete(shutdown);
          context.signal.removeEventListener("abort", cancelled);
          release();
        }
      },
      sendMessage: (request, context) =>
        rpc(async () => {
          const grant = await grantFor(context);
          const sender = grant?.name ?? (request.message?.sender || "anonymous");
          const content = request.message?.content ?? "";
          const room = await hub.visit(request.chatId, viewerOf(grant));
          checkRoomAllowed(grant, room);
          // A client that retries with the message's own id stores it once.
          const key = request.message?.id ? `grpc:${request.message.id}` : undefined;
          const stored = await hub.sendAsVisitor(
            room.id,
            content,
            sender,
            key,
            undefined,
            viewerOf(grant),
          );
          return toMessage(stored);
        }),
    });
}

/**
 * Serves `/chat_v1.ChatService/<Method>` inside the Hono app over the Connect protocol (JSON and
 * binary) and gRPC-Web. (gRPC proper needs HTTP trailers, which a fetch `Response` cannot carry:
 * it is served on its own port, `CHAT_GRPC_PORT`, by `grpc_server.ts`.)
 */
export function mountChatService(
  app: Hono,
  hub: Hub,
  options: {
    readonly streams: Set<() => void>;
    readonly maxQueuedBytes: number;
    /** Admits a stream of this request's client (see {@link HOLD_STREAM}). */
    readonly holdStream: (c: Context) => () => void;
    /** Who the request's client is (see {@link CLIENT}). */
    readonly clientOf: (c: Context) => string | undefined;
  },
): void {
  const router = createConnectRouter();
  chatServiceRoutes(hub, options.streams, options)(router);
  for (const handler of router.handlers) {
    app.post(handler.requestPath, async (c) => {
      // Binary requests are parsed first (JSON ones Connect judges well enough by itself).
      const contentType = c.req.header("content-type") ?? "";
      if (isBinaryProto(contentType)) {
        const body = new Uint8Array(await c.req.raw.clone().arrayBuffer());
        const malformed = malformedBinary(contentType, body, handler.method.input);
        if (malformed) return malformedResponse(contentType, malformed);
      }
      const request = universalServerRequestFromFetch(c.req.raw, {});
      const grant = grantOf(c.req.raw);
      const contextValues = createContextValues()
        .set(GRANT, () => Promise.resolve(grant))
        .set(HOLD_STREAM, () => options.holdStream(c))
        .set(CLIENT, options.clientOf(c));
      return universalServerResponseToFetch(await handler({ ...request, contextValues }));
    });
  }
}
