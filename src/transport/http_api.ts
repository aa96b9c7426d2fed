import type { Hono } from "hono";
import { ChatError } from "../core/errors.ts";
import type { Hub } from "../core/hub.ts";
import { validateCursor } from "../core/message.ts";
import type { Context } from "hono";
import { roomEvents, type StreamLimits } from "./room_stream.ts";
import { checkRoomAllowed, grantOf } from "./tokens.ts";
import { viewerFor } from "./viewers.ts";

function cursor(value: string | undefined, field: string): string | undefined {
  return value === undefined || value === "" ? undefined : validateCursor(value, field);
}

function limitParam(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const limit = Number(value);
  if (!Number.isInteger(limit)) throw new ChatError("invalid_field", "limit must be an integer");
  return limit;
}

async function readName(request: Request): Promise<{ name: string; private: boolean }> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new ChatError("bad_json", 'the body must be a JSON object like {"name": "..."}');
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ChatError("bad_json", 'the body must be a JSON object like {"name": "..."}');
  }
  const { name, private: secret } = body as Record<string, unknown>;
  if (name === undefined || name === null) {
    throw new ChatError("missing_field", "'name' is required", { field: "name" });
  }
  if (typeof name !== "string") {
    throw new ChatError("invalid_field", "'name' must be a string", { field: "name" });
  }
  if (secret !== undefined && secret !== null && typeof secret !== "boolean") {
    throw new ChatError("invalid_field", "'private' must be true or false", { field: "private" });
  }
  return { name, private: secret === true };
}

/** Reads `{"message", "name"?}`, the body of `POST /rooms/:id/messages`. */
async function readMessage(
  request: Request,
): Promise<{ message: string; name?: string; replyTo?: string }> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new ChatError("bad_json", 'the body must be a JSON object like {"message": "..."}');
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ChatError("bad_json", 'the body must be a JSON object like {"message": "..."}');
  }
  const { message, name, replyTo } = body as Record<string, unknown>;
  if (message === undefined || message === null) {
    throw new ChatError("missing_field", "'message' is required", { field: "message" });
  }
  if (typeof message !== "string") {
    throw new ChatError("invalid_field", "'message' must be a string", { field: "message" });
  }
  if (name !== undefined && name !== null && typeof name !== "string") {
    throw new ChatError("invalid_field", "'name' must be a string", { field: "name" });
  }
  if (replyTo !== undefined && replyTo !== null && typeof replyTo !== "string") {
    throw new ChatError("invalid_field", "'replyTo' must be a message id", { field: "replyTo" });
  }
  return {
    message,
    name: typeof name === "string" ? name : undefined,
    replyTo: typeof replyTo === "string" ? validateCursor(replyTo, "replyTo") : undefined,
  };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The rooms API: create and list rooms, show one, page through its messages, send, follow. */
export function mountRoomsApi(
  app: Hono,
  hub: Hub,
  options: {
    readonly streamLimits: (c: Context) => StreamLimits;
    /** Who the client is, for its room creations (token subject, else address). */
    readonly clientOf: (c: Context) => string | undefined;
  },
): void {
  app.post("/rooms", async (c) => {
    const { name, private: secret } = await readName(c.req.raw);
    const grant = grantOf(c.req.raw);
    checkRoomAllowed(grant, { id: "", name });
    const room = await hub.createRoom(name, options.clientOf(c), {
      viewer: viewerFor(c.req.raw),
      private: secret,
    });
    return c.json(room, 201);
  });

  app.get("/rooms", async (c) =>
    c.json(
      await hub.listRooms({
        after: cursor(c.req.query("after"), "after"),
        limit: limitParam(c.req.query("limit")),
      }, viewerFor(c.req.raw)),
    ));

  // Seed 003 ("Chatty"): create a chat (a room) by name; an existing name answers 200 with it.
  app.post("/chat", async (c) => {
    const name = c.req.query("name");
    if (name === undefined || name.trim() === "") {
      throw new ChatError("missing_field", "'name' is required (POST /chat?name=...)", {
        field: "name",
      });
    }
    const grant = grantOf(c.req.raw);
    checkRoomAllowed(grant, { id: "", name });
    try {
      const room = await hub.createRoom(name, options.clientOf(c), {
        viewer: viewerFor(c.req.raw),
      });
      return c.json({ id: room.id, name: room.name }, 201);
    } catch (error) {
      // A private room's name (details without an id) stays a 409.
      if (!(error instanceof ChatError) || error.code !== "room_exists" || !error.details.id) {
        throw error;
      }
      const room = await hub.resolveRoom(String(error.details.id));
      return c.json({ id: room.id, name: room.name }, 200);
    }
  });

  app.get(
    "/rooms/:id",
    async (c) => c.json(await hub.roomDetails(c.req.param("id"), viewerFor(c.req.raw))),
  );

  // Send without a socket: bots, webhooks. A retry with the same Idempotency-Key stores once.
  app.post("/rooms/:id/messages", async (c) => {
    const { message, name, replyTo } = await readMessage(c.req.raw);
    const grant = grantOf(c.req.raw);
    const room = await hub.visit(c.req.param("id"), viewerFor(c.req.raw));
    checkRoomAllowed(grant, room);
    const key = c.req.header("idempotency-key");
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new ChatError(
        "invalid_field",
        "Idempotency-Key must be 1-200 visible ASCII characters",
        {
          field: "Idempotency-Key",
        },
      );
    }
    const author = grant?.name ?? name ?? "http";
    const stored = await hub.sendAsVisitor(
      room.id,
      message,
      author,
      key,
      replyTo,
      viewerFor(c.req.raw),
    );
    return c.json(stored, 201);
  });

  app.get("/rooms/:id/events", (c) => roomEvents(c, hub, options.streamLimits(c)));

  app.get("/rooms/:id/messages", async (c) => {
    const page = await hub.readMessages(c.req.param("id"), {
      before: cursor(c.req.query("before"), "before"),
      after: cursor(c.req.query("after"), "after"),
      limit: limitParam(c.req.query("limit")),
      thread: cursor(c.req.query("thread"), "thread"),
      q: c.req.query("q"),
    }, viewerFor(c.req.raw));
    const { messages, more, next } = page;
    return c.json(next === undefined ? { messages, more } : { messages, more, next });
  });
}
