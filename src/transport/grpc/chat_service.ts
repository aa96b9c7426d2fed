import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import {
  universalServerRequestFromFetch,
  universalServerResponseToFetch,
} from "@connectrpc/connect/protocol";
import type { Hono } from "hono";
import { ChatError } from "../../core/errors.ts";
import type { Hub } from "../../core/hub.ts";
import type { ChatMessage, Outbound, PushEvent } from "../../core/types.ts";
import { ChatService, type Message, MessageSchema } from "./gen/chat_v1/chat_pb.ts";
import { checkRoomAllowed, type Grant, grantOf } from "../tokens.ts";

/** The token's grant of the request, when tokens are on (its subject wins over names sent). */
const GRANT = createContextKey<Grant | undefined>(undefined);

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
    case "origin_forbidden":
      return Code.PermissionDenied;
    case "unauthorized":
      return Code.Unauthenticated;
    case "internal":
      return Code.Internal;
    default:
      return Code.InvalidArgument;
  }
}

/** Runs `work`, turning a chat error into the Connect error a client expects. */
async function rpc<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ChatError) throw new ConnectError(error.message, connectCode(error.code));
    throw error;
  }
}

/** A stored chat message as seed 004's `Message`. */
function toMessage(message: ChatMessage): Message {
  return create(MessageSchema, {
    id: message.id,
    sender: message.member,
    content: message.message,
    timestamp: timestampFromMs(message.ts),
  });
}

/** A bounded queue that an async generator drains: what a stream's member is sent. */
class Inbox {
  readonly #items: ChatMessage[] = [];
  #wake?: () => void;

  push(message: ChatMessage): void {
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
        yield next;
        continue;
      }
      await Promise.race([aborted, new Promise<void>((resolve) => this.#wake = resolve)]);
      this.#wake = undefined;
    }
  }
}

/** The stored message behind an outbound event, if it is one. */
function storedOf(out: Outbound): ChatMessage | undefined {
  if (out.seq === undefined) return undefined;
  const event = (out.event ?? JSON.parse(out.text)) as PushEvent;
  return event.event === "broadcast" && !("deleted" in event) ? event : undefined;
}

/**
 * Seed 004's `chat_v1.ChatService` on the hub: a chat is a room. `CreateChat` makes one (named,
 * or `chat-<id>`), `ConnectChat` joins it as `username` and streams its messages from the moment
 * of the call until the client goes, `SendMessage` stores one in the sender's name.
 */
function routes(hub: Hub, streams: Set<() => void>) {
  return createConnectRouter().service(ChatService, {
    createChat: (request, context) =>
      rpc(async () => {
        const name = request.name.trim() || `chat-${crypto.randomUUID().slice(0, 8)}`;
        checkRoomAllowed(context.values.get(GRANT), { id: "", name });
        const room = await hub.resolveRoom(name, true);
        return { chatId: room.id };
      }),
    async *connectChat(request, context: HandlerContext) {
      const inbox = new Inbox();
      // Ends with the client, or with a shutdown of the server.
      const ended = new AbortController();
      const end = () => ended.abort();
      context.signal.addEventListener("abort", end);
      streams.add(end);
      const grant = context.values.get(GRANT);
      const member = await hub.connect(
        {
          send: (out) => {
            const stored = storedOf(out);
            if (stored) inbox.push(stored);
          },
        },
        grant?.name ?? (request.username.trim() || undefined),
        grant?.rooms,
      );
      try {
        // The chat must exist (a join would create a room of that name).
        const room = await rpc(() => hub.resolveRoom(request.chatId));
        const joined = await rpc(() => hub.join(member, room.id));
        await joined.flush();
        for await (const message of inbox.drain(ended.signal)) yield toMessage(message);
      } finally {
        streams.delete(end);
        hub.disconnect(member);
      }
    },
    sendMessage: (request, context) =>
      rpc(async () => {
        const grant = context.values.get(GRANT);
        const sender = grant?.name ?? (request.message?.sender || "anonymous");
        const content = request.message?.content ?? "";
        const room = await hub.resolveRoom(request.chatId);
        checkRoomAllowed(grant, room);
        const stored = await hub.send(room.id, content, sender);
        return toMessage(stored);
      }),
  });
}

/**
 * Serves `/chat_v1.ChatService/<Method>` inside the Hono app over the Connect protocol (JSON and
 * binary) and gRPC-Web. (gRPC proper needs HTTP trailers, which a fetch `Response` cannot carry:
 * see the README.)
 */
export function mountChatService(app: Hono, hub: Hub, streams: Set<() => void>): void {
  for (const handler of routes(hub, streams).handlers) {
    app.post(handler.requestPath, async (c) => {
      const request = universalServerRequestFromFetch(c.req.raw, {});
      const contextValues = createContextValues().set(GRANT, grantOf(c.req.raw));
      return universalServerResponseToFetch(await handler({ ...request, contextValues }));
    });
  }
}
