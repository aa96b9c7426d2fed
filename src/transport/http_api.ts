import type { Hono } from "hono";
import { ChatError } from "../core/errors.ts";
import type { Hub } from "../core/hub.ts";
import { validateCursor } from "../core/message.ts";

function cursor(value: string | undefined, field: string): string | undefined {
  return value === undefined || value === "" ? undefined : validateCursor(value, field);
}

function limitParam(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const limit = Number(value);
  if (!Number.isInteger(limit)) throw new ChatError("invalid_field", "limit must be an integer");
  return limit;
}

async function readName(request: Request): Promise<string> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new ChatError("bad_json", 'the body must be a JSON object like {"name": "..."}');
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ChatError("bad_json", 'the body must be a JSON object like {"name": "..."}');
  }
  const name = (body as Record<string, unknown>).name;
  if (name === undefined || name === null) {
    throw new ChatError("missing_field", "'name' is required", { field: "name" });
  }
  if (typeof name !== "string") {
    throw new ChatError("invalid_field", "'name' must be a string", { field: "name" });
  }
  return name;
}

/** The rooms API: create and list rooms, show one, page through its messages. */
export function mountRoomsApi(app: Hono, hub: Hub): void {
  app.post("/rooms", async (c) => {
    const room = await hub.createRoom(await readName(c.req.raw));
    return c.json(room, 201);
  });

  app.get("/rooms", async (c) => c.json(await hub.listRooms()));

  // Seed 003 ("Chatty"): create a chat (a room) by name; an existing name answers 200 with it.
  app.post("/chat", async (c) => {
    const name = c.req.query("name");
    if (name === undefined || name.trim() === "") {
      throw new ChatError("missing_field", "'name' is required (POST /chat?name=...)", {
        field: "name",
      });
    }
    try {
      const room = await hub.createRoom(name);
      return c.json({ id: room.id, name: room.name }, 201);
    } catch (error) {
      if (!(error instanceof ChatError) || error.code !== "room_exists") throw error;
      const room = await hub.resolveRoom(String(error.details.id));
      return c.json({ id: room.id, name: room.name }, 200);
    }
  });

  app.get("/rooms/:id", async (c) => c.json(await hub.roomDetails(c.req.param("id"))));

  app.get("/rooms/:id/messages", async (c) => {
    const page = await hub.readMessages(c.req.param("id"), {
      before: cursor(c.req.query("before"), "before"),
      after: cursor(c.req.query("after"), "after"),
      limit: limitParam(c.req.query("limit")),
    });
    return c.json({ messages: page.messages, more: page.more });
  });
}
