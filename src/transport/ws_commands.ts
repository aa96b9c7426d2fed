/**
 * What each command of a WebSocket connection does: the hub call it makes and how it is answered
 * (at once, or in its place in the room's order for the writes). The session (`ws_session.ts`)
 * owns the socket, the member and the error mapping; this module owns the commands.
 *
 * @module
 */
import type { ChangeRequest, Hub } from "../core/hub.ts";
import type { LocalConnection } from "../core/local_connection.ts";
import type { Outbound } from "../core/types.ts";
import type { Command } from "../wire/commands.ts";
import { directHistoryEvent, historyEvent, leftEvent, listEvent } from "../wire/events.ts";

/** What a connection's commands act through. */
export interface CommandContext {
  readonly hub: Hub;
  /** Answers a command at once (its event, with `re`). */
  answer(event: object, re?: string): void;
  /** What answers a write in its place in the room's order (the stored event, with `re`). */
  acknowledge(re?: string): (out: Outbound) => void;
  /** Answers with an error. */
  refuse(error: unknown, re?: string): void;
  /** Tracks a write that was not awaited (so that `leave` waits for it). */
  sending(done: Promise<unknown>): void;
  /** Resolves once every write sent so far is answered. */
  sent(): Promise<void>;
  /** Joins a room and answers with `joined`, then replays. */
  join(room: string, since: string | undefined, re?: string, secret?: boolean): Promise<void>;
  /** Takes a fresh token. */
  refresh(token: string): Promise<object>;
  /** Runs an embedder's command. */
  custom(
    member: LocalConnection,
    name: string,
    fields: Readonly<Record<string, unknown>>,
  ): Promise<object>;
  /** The `me` event of the member. */
  me(member: LocalConnection): object;
}

/** The hub's request for an `edit`, `delete` or `react` command. */
function changeRequest(
  command: Extract<Command, { command: "edit" | "delete" | "react" }>,
): ChangeRequest {
  const { room, target } = command;
  switch (command.command) {
    case "edit":
      return { kind: "edit", room, target, message: command.message };
    case "delete":
      return { kind: "delete", room, target };
    case "react":
      return { kind: "react", room, target, emoji: command.emoji };
  }
}

/** Runs one command of a connection's member. */
export async function dispatch(
  ctx: CommandContext,
  member: LocalConnection,
  command: Command,
): Promise<void> {
  const re = command.id;
  switch (command.command) {
    case "me":
      return ctx.answer(ctx.me(member), re);
    case "join":
      return await ctx.join(command.room, command.since, re, command.private);
    case "leave":
      // Per connection, order holds: what it sent before reaches the others before its leave.
      await ctx.sent();
      return ctx.answer(leftEvent(await ctx.hub.leave(member, command.room)), re);
    case "broadcast":
      // Not awaited: the next frame may be parsed while this one commits. The store commits in
      // call order, so acknowledgements and deliveries keep the sender's order.
      ctx.sending(
        ctx.hub.sendMessage(
          member,
          command.message,
          command.room,
          ctx.acknowledge(re),
          { key: command.key, replyTo: command.replyTo },
        ).catch((error) => ctx.refuse(error, re)),
      );
      return;
    case "list":
      return ctx.answer(listEvent(await ctx.hub.list(member, command.room, command.offset)), re);
    case "history": {
      if (command.with !== undefined) {
        const page = await ctx.hub.directHistory(
          member,
          command.with,
          command.before,
          command.limit,
        );
        return ctx.answer(directHistoryEvent(page), re);
      }
      const page = await ctx.hub.history(member, command.room, command.before, command.limit);
      return ctx.answer(historyEvent(page), re);
    }
    case "direct":
      return ctx.answer(await ctx.hub.direct(member, command.to, command.message), re);
    case "typing":
      return await ctx.hub.typing(member, command.room);
    case "edit":
    case "delete":
    case "react": {
      // Like a broadcast, not awaited: the answer comes in the change's place in the log.
      ctx.hub.change(
        member,
        changeRequest(command),
        ctx.acknowledge(re),
      ).catch((error) => ctx.refuse(error, re));
      return;
    }
    case "rooms":
      return ctx.answer(await ctx.hub.watchRooms(member), re);
    case "invite":
    case "role":
    case "kick":
    case "ban":
    case "unban":
    case "mute": {
      // Answered with its event, in its place in the room's order.
      const { command: action, to, seconds, role } = command;
      await ctx.hub.moderate(
        member,
        command.room,
        { action, to, seconds, role },
        ctx.acknowledge(re),
      );
      return;
    }
    case "read":
      // Not awaited: the next `read`s of a burst join the write in flight (coalesced).
      ctx.hub.read(member, command.room, command.message)
        .then((event) => ctx.answer(event, re))
        .catch((error) => ctx.refuse(error, re));
      return;
    case "refresh":
      return ctx.answer(await ctx.refresh(command.token), re);
    case "custom":
      return ctx.answer(await ctx.custom(member, command.name, command.fields), re);
    default: {
      const unreachable: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unreachable)}`);
    }
  }
}
