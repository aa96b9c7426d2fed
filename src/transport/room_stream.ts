import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Hub } from "../core/hub.ts";
import { validateCursor } from "../core/message.ts";
import type { Outbound } from "../core/types.ts";
import { encode, joinedEvent } from "../wire/events.ts";
import { viewerFor } from "./viewers.ts";

/** What bounds a stream: its admission and how much it may have waiting. */
export interface StreamLimits {
  /** Every open stream's way to end it (a shutdown ends them all). */
  readonly streams: Set<() => void>;
  /** Admits the stream like a socket (or throws `over_capacity`); returns its release. */
  readonly hold: () => () => void;
  /** Bytes of events a slow reader may have waiting before its stream is ended. */
  readonly maxQueuedBytes: number;
}

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/**
 * `GET /rooms/:id/events`: the room as Server-Sent Events. First a `joined` event (with `seq`,
 * and `recovered` when resuming), then each stored event as `id: <message id>` and
 * `data: <the JSON event>`, and the room's `join`/`leave` events (without an id). `Last-Event-ID`
 * (the header a browser's EventSource sends when it reconnects, or `?lastEventId=`) resumes
 * exactly like `since` on the WebSocket: every stored event after it, once, then live ones.
 */
export async function roomEvents(
  c: Context,
  hub: Hub,
  limits: StreamLimits,
): Promise<Response> {
  const raw = c.req.header("last-event-id") || c.req.query("lastEventId") || undefined;
  const since = raw === undefined ? undefined : validateCursor(raw, "Last-Event-ID");
  const queue: Outbound[] = [];
  let queuedBytes = 0;
  let wake: (() => void) | undefined;
  let ended = false;
  const end = () => {
    ended = true;
    wake?.();
  };
  // Counted like a socket (CHAT_MAX_CONNECTIONS, the per-address cap) from here to the end.
  const release = limits.hold();
  let observed;
  try {
    // Before the stream starts, so that an unknown room is a plain 404.
    observed = await hub.observe(
      c.req.param("id")!,
      {
        send: (out) => {
          // A reader that falls this far behind is ended like a slow socket; its EventSource
          // reconnects with Last-Event-ID and resumes where it was.
          queuedBytes += encode(out).length;
          if (queuedBytes > limits.maxQueuedBytes) return end();
          queue.push(out);
          wake?.();
        },
      },
      since,
      viewerFor(c.req.raw),
    );
  } catch (error) {
    release();
    throw error;
  }
  const open = limits.streams;
  return streamSSE(c, async (stream) => {
    stream.onAbort(end);
    open.add(end); // a shutdown ends every stream
    try {
      await stream.writeSSE({ event: "joined", data: JSON.stringify(joinedEvent(observed)) });
      // The replay fills the queue a page at a time, while this loop writes it out.
      const flushing = observed.flush(async () => {
        while (queue.length > 500 && !ended) await new Promise((r) => setTimeout(r, 5));
      }).catch(end);
      while (!ended) {
        const out = queue.shift();
        if (out) {
          queuedBytes -= encode(out).length;
          await stream.writeSSE(out.id ? { id: out.id, data: encode(out) } : { data: encode(out) });
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, KEEPALIVE_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (queue.length === 0 && !ended) await stream.write(": keepalive\n\n");
      }
      await flushing;
    } finally {
      open.delete(end);
      observed.stop();
      release();
    }
  });
}
