import { type Context, Hono } from "hono";
import { ChatError, toChatError } from "../core/errors.ts";
import type { Hub } from "../core/hub.ts";
import { validateCursor } from "../core/message.ts";
import { validateDisplayName } from "../core/names.ts";
import type { Logger } from "../core/types.ts";
import { RateLimits } from "../core/rate_limiter.ts";
import type { Settings } from "../config.ts";
import { checkHost, checkOrigin, clientAddress } from "./admission.ts";
import { SessionKeys } from "./sessions.ts";
import { mountRoomsApi } from "./http_api.ts";
import type { ChatHooks, CommandHandler } from "./embedding.ts";
import { type ChatMetrics, mountMetrics } from "./metrics.ts";
import { mountChatService } from "./grpc/chat_service.ts";
import { mountStaticFiles } from "./static_files.ts";
import { grantOf, keepGrant, tokenOf, type TokenVerifier, viewerOf } from "./tokens.ts";
import { keepSessionViewer } from "./viewers.ts";
import { bodyLimit } from "hono/body-limit";
import { errorResponse, WRITES_REFUSED } from "./status.ts";
import { WsSession } from "./ws_session.ts";
import { POLICY } from "../wire/close_codes.ts";
import { type Wire, wireNamed } from "../wire/wires.ts";

/** The transport's live state: its sessions, whether it still accepts new ones, its refusals. */
export class Sessions {
  /** Open sessions of this isolate. */
  readonly open = new Set<WsSession>();
  /** Set by shutdown: new upgrades get 503. */
  draining = false;
  /** Open sockets per client address. */
  readonly byAddress = new Map<string, number>();
  /** Addresses refused until a time (ms since the epoch) after an oversized frame. */
  readonly banned = new Map<string, number>();
  /** Ends each open Server-Sent Events stream (a shutdown calls them all). */
  readonly streams = new Set<() => void>();
  /** Errors sent to clients (WebSocket and HTTP) by code, since start. */
  readonly refusals = new Map<string, number>();

  /** Open streams (Server-Sent Events, `ConnectChat`), which count against the caps like sockets. */
  streamCount = 0;

  /** Sockets and streams open on this isolate. */
  get connections(): number {
    return this.open.size + this.streamCount;
  }

  /** Counts a connection of `address` (sockets and streams alike). */
  addAddress(address: string | undefined): void {
    if (address !== undefined) this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
  }

  /** Forgets a connection of `address`. */
  removeAddress(address: string | undefined): void {
    if (address === undefined) return;
    const left = (this.byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(address, left);
    else this.byAddress.delete(address);
  }

  /**
   * Admits a stream (Server-Sent Events, `ConnectChat`) like a socket: within
   * `CHAT_MAX_CONNECTIONS` and the per-address cap, else `over_capacity`. Returns its release.
   */
  holdStream(
    address: string | undefined,
    limits: { readonly maxConnections: number; readonly maxConnectionsPerAddress: number },
  ): () => void {
    if (this.draining) throw new ChatError("shutting_down", "the server is shutting down");
    checkCapacity(this, address, limits);
    this.streamCount++;
    this.addAddress(address);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.streamCount--;
      this.removeAddress(address);
    };
  }

  /** Counts one error sent to a client. */
  refused(code: string): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
  }

  #emptied?: () => void;

  /** Forgets a closed session (its socket's close handshake is over). */
  closed(session: WsSession): void {
    this.open.delete(session);
    if (this.open.size === 0) this.#emptied?.();
  }

  /**
   * Resolves once every socket has finished its close handshake, or after `ms`: exiting earlier
   * would reset connections whose peers are still sending, and they would never read their
   * `1001` (the kernel drops what they had not read yet).
   */
  allClosed(ms: number): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#emptied = done;
    });
  }
}

/** Refuses a new socket or stream past `CHAT_MAX_CONNECTIONS` or the per-address cap. */
function checkCapacity(
  sessions: Sessions,
  address: string | undefined,
  limits: { readonly maxConnections: number; readonly maxConnectionsPerAddress: number },
): void {
  if (sessions.connections >= limits.maxConnections) {
    throw new ChatError("over_capacity", "too many connections; try again later");
  }
  const held = address === undefined ? 0 : sessions.byAddress.get(address) ?? 0;
  if (held >= limits.maxConnectionsPerAddress) {
    throw new ChatError("over_capacity", "too many connections from your address", {
      limit: limits.maxConnectionsPerAddress,
    });
  }
}

/** The name a resumed session carries, if it is still a valid one. */
function sessionName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  try {
    return validateDisplayName(name);
  } catch {
    return undefined;
  }
}

/** A connection's session: `id` resumed, or a new one; `issue` signs it for the current name. */
function sessionOf(deps: AppDeps, id = SessionKeys.newId()) {
  const keys = deps.sessionKeys!;
  const ttl = deps.settings.sessionTtlSeconds;
  return {
    id,
    issue: (name: string) => keys.issue({ id, name, exp: Math.floor(Date.now() / 1000) + ttl }),
  };
}

/** What the app is built from. */
export interface AppDeps {
  readonly hub: Hub;
  readonly settings: Settings;
  readonly log: Logger;
  readonly sessions: Sessions;
  /** Where `static/` is. */
  readonly staticRoot: URL;
  /** The figures served at `/metrics`; none: no route. */
  readonly metrics?: ChatMetrics;
  /** The embedder's hooks. */
  readonly hooks?: ChatHooks;
  /** The embedder's commands. */
  readonly commands?: ReadonlyMap<string, CommandHandler>;
  /** Signs and checks sessions (without tokens a session is the person). */
  readonly sessionKeys?: SessionKeys;
  /** Checks tokens; none: tokens are off. */
  readonly tokens?: TokenVerifier;
}

/** The wire a `/ws` request asks for with `?wire=` (JSON when absent). */
function wireOf(query: URLSearchParams): Wire {
  const name = query.get("wire")?.trim() || "json";
  const wire = name === "chatty" ? undefined : wireNamed(name);
  if (!wire) {
    throw new ChatError(
      "invalid_field",
      `wire must be json, basic or text, got '${name.slice(0, 32)}'`,
      {
        field: "wire",
      },
    );
  }
  return wire;
}

/**
 * Admits a WebSocket: origin, capacity, token, name, cursor and the embedder's connect hook, then
 * the upgrade. `route` fixes the wire and where the room comes from for seed routes.
 */
async function upgrade(
  request: Request,
  deps: AppDeps,
  route: { wire?: Wire; roomRequired?: boolean } = {},
  remoteAddr?: Deno.Addr,
): Promise<Response> {
  const { settings, sessions, hub, log } = deps;
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new ChatError("upgrade_required", "this route needs a WebSocket upgrade");
  }
  if (sessions.draining) throw new ChatError("shutting_down", "the server is shutting down");
  checkOrigin(request, settings.allowedOrigins);
  // One address may not hold more than its share (300 sockets would also multiply its message
  // rate 300-fold); streams (SSE, ConnectChat) count as sockets.
  const address = clientAddress(request, remoteAddr, settings.trustProxy === "on");
  const bannedUntil = address === undefined ? undefined : sessions.banned.get(address);
  if (bannedUntil !== undefined) {
    if (bannedUntil > Date.now()) {
      throw new ChatError("rate_limited", "your address sent an oversized frame; try again later", {
        retryAfterSeconds: Math.ceil((bannedUntil - Date.now()) / 1000),
      });
    }
    sessions.banned.delete(address!);
  }
  checkCapacity(sessions, address, settings);
  if (!request.headers.get("sec-websocket-key")) {
    throw new ChatError("invalid_field", "not a WebSocket upgrade: Sec-WebSocket-Key is missing", {
      field: "Sec-WebSocket-Key",
    });
  }
  // RFC 6455: version 13, and a key that is 16 bytes in base64.
  if (request.headers.get("sec-websocket-version")?.trim() !== "13") {
    throw new ChatError("invalid_field", "Sec-WebSocket-Version must be 13", {
      field: "Sec-WebSocket-Version",
    });
  }
  if (!/^[A-Za-z0-9+/]{22}==$/.test(request.headers.get("sec-websocket-key")!.trim())) {
    throw new ChatError("invalid_field", "Sec-WebSocket-Key must be 16 bytes in base64", {
      field: "Sec-WebSocket-Key",
    });
  }
  if (!/\bupgrade\b/i.test(request.headers.get("connection") ?? "")) {
    throw new ChatError("invalid_field", "not a WebSocket upgrade: Connection must say Upgrade", {
      field: "Connection",
    });
  }
  const grant = deps.tokens ? await deps.tokens.verify(tokenOf(request)) : undefined;
  const query = new URL(request.url).searchParams;
  // Without tokens, a session is the person: one it issued and that has not expired is resumed
  // (same member, its name unless another is asked), anything else gets a new one.
  const resumed = grant || !deps.sessionKeys
    ? undefined
    : deps.sessionKeys.verify(query.get("session") ?? undefined, Date.now());
  const wanted = grant?.name ?? query.get("name") ?? query.get("username") ?? undefined;
  // A session's name is a wish, never a reason to refuse (rules may have changed since).
  let name = wanted === undefined ? sessionName(resumed?.name) : validateDisplayName(wanted);
  const rawSince = query.get("since") || undefined;
  const since = rawSince === undefined ? undefined : validateCursor(rawSince, "since");
  const wire = route.wire ?? wireOf(query);
  const asked = query.get("room")?.trim();
  if (!asked && route.roomRequired) {
    throw new ChatError("missing_field", "'room' is required", { field: "room" });
  }
  const room = asked || "lobby";
  // Seed 003 joins rooms made by `POST /chat`: an unknown one is a 404 before the upgrade (a join
  // would create a room named after the id, listed to everyone).
  if (route.roomRequired) await hub.visit(room, viewerOf(grant));
  const verdict = await deps.hooks?.onConnect?.({ request, name, room });
  if (verdict && "refuse" in verdict) throw new ChatError("forbidden", verdict.refuse);
  if (verdict?.name !== undefined) name = validateDisplayName(verdict.name);
  // Read everything needed from the request first: once upgraded, it is closed.
  const origin = request.headers.get("origin") ?? undefined;
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: settings.idleTimeoutSeconds,
  });
  const session = new WsSession(socket, hub, {
    name,
    room,
    since,
    allowedRooms: grant?.rooms,
    subject: grant?.subject,
    admin: grant?.admin === true,
    refresh: deps.tokens ? (token) => deps.tokens!.verify(token) : undefined,
    session: grant || !deps.sessionKeys ? undefined : sessionOf(deps, resumed?.id),
    expiresAt: grant === undefined ? undefined : grant.exp * 1000,
    maxFrameBytes: settings.maxFrameBytes,
    maxBufferedBytes: settings.maxBufferedBytes,
    log,
    onRefused: (code) => sessions.refused(code),
    data: verdict?.data,
    commands: deps.commands,
    onDisconnect: deps.hooks?.onDisconnect,
    wire,
    logFields: { origin, wire: wire.name, address },
    onOversized: () => {
      if (address === undefined || settings.oversizeBanSeconds <= 0) return;
      // Deno holds a whole frame before anyone can refuse it: an address that sent one over the
      // limit loses its other sockets (and the frames they may be buffering) and may not come
      // back for a while, so that it cannot repeat the flood.
      sessions.banned.set(address, Date.now() + settings.oversizeBanSeconds * 1000);
      for (const other of sessions.open) {
        if (other !== session && other.address === address) other.close(POLICY, "oversized frames");
      }
      log("address_banned", { address, seconds: settings.oversizeBanSeconds });
    },
    address,
  });
  sessions.open.add(session);
  sessions.addAddress(address);
  socket.addEventListener("close", () => {
    sessions.closed(session);
    sessions.removeAddress(address);
  });
  return response;
}

/** The Hono app: `/health`, `/ws`, the rooms API and the web client. */
export function buildApp(deps: AppDeps): Hono {
  const app = new Hono();
  /** The client's address: its peer's, or with `CHAT_TRUST_PROXY` the forwarded one. */
  const addressOf = (c: Context) =>
    clientAddress(
      c.req.raw,
      (c.env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr,
      deps.settings.trustProxy === "on",
    );
  // The node header tells which isolate answered (useful behind `deno serve --parallel`).
  app.use("*", async (c, next) => {
    checkHost(c.req.raw, deps.settings.allowedHosts, addressOf(c));
    await next();
    // API answers are JSON or text: no browser should guess otherwise (not on a 101 upgrade).
    if (c.res.status !== 101) c.res.headers.set("x-content-type-options", "nosniff");
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: deps.settings.maxBodyBytes,
      onError: () => {
        throw new ChatError("too_large", `the body is over ${deps.settings.maxBodyBytes} bytes`, {
          limit: deps.settings.maxBodyBytes,
        });
      },
    }),
  );
  app.get("/health", (c) => c.text("ok", 200, { "x-chat-node": deps.hub.nodeId }));
  // What a client needs to know before it connects (the web client reads it at start).
  app.get("/config", (c) =>
    c.json({
      tokens: deps.tokens !== undefined,
      tokenUrl: deps.settings.webTokenUrl || null,
      maxMessageLength: deps.settings.maxMessageLength,
    }));
  const socketRoute = (route: { wire?: Wire; roomRequired?: boolean }) => async (c: Context) => {
    try {
      const env = c.env as { remoteAddr?: Deno.Addr } | undefined;
      return await upgrade(c.req.raw, deps, route, env?.remoteAddr);
    } catch (error) {
      const chatError = toChatError(error);
      deps.sessions.refused(chatError.code);
      deps.log("ws_refused", { code: chatError.code, reason: chatError.message });
      return errorResponse(chatError);
    }
  };
  app.get("/ws", socketRoute({}));
  // Seed 003 ("Chatty"): its WebSocket route and wire, on the same rooms.
  app.get("/chat/join", socketRoute({ wire: wireNamed("chatty"), roomRequired: true }));
  // Every state-changing request passes the origin rule (a cross-site form or a text/plain
  // fetch is refused like a cross-site socket) and, with tokens on, needs one.
  // Writes without a socket are limited per client like a socket's messages (a client is its
  // token's subject, else its address): one client cannot push a room out of retention.
  /** Who the client is for per-client limits: its token's subject, else its address. */
  const clientOf = (c: Context) => {
    const grant = grantOf(c.req.raw);
    return grant ? `sub:${grant.subject}` : addressOf(c);
  };
  const limits = new RateLimits(deps.settings.ratePerSecond, deps.settings.rateBurst, Date.now);
  app.post("*", async (c, next) => {
    checkOrigin(c.req.raw, deps.settings.allowedOrigins);
    if (deps.tokens) keepGrant(c.req.raw, await deps.tokens.verify(tokenOf(c.req.raw)));
    keepSessionViewer(c.req.raw, deps.sessionKeys);
    limits.demand(clientOf(c), WRITES_REFUSED);
    await next();
  });
  // Reads need no token, but one given says who reads (a private room is seen by its list).
  const reader = async (c: Context, next: () => Promise<void>) => {
    if (deps.tokens && tokenOf(c.req.raw) !== undefined) {
      keepGrant(c.req.raw, await deps.tokens.verify(tokenOf(c.req.raw)));
    }
    keepSessionViewer(c.req.raw, deps.sessionKeys);
    await next();
  };
  app.get("/rooms", reader);
  app.get("/rooms/*", reader);
  mountRoomsApi(app, deps.hub, {
    clientOf,
    streamLimits: (c) => ({
      streams: deps.sessions.streams,
      hold: () => deps.sessions.holdStream(addressOf(c), deps.settings),
      maxQueuedBytes: deps.settings.maxBufferedBytes,
    }),
  });
  if (deps.metrics) mountMetrics(app, deps.metrics, deps.settings.metricsToken);
  mountChatService(app, deps.hub, {
    streams: deps.sessions.streams,
    maxQueuedBytes: deps.settings.maxBufferedBytes,
    holdStream: (c) => deps.sessions.holdStream(addressOf(c), deps.settings),
    clientOf,
  });
  mountStaticFiles(app, deps.staticRoot);
  app.notFound((c) => c.json({ error: "not_found", message: "no such route" }, 404));
  app.onError((error, c) => {
    const chatError = toChatError(error);
    deps.sessions.refused(chatError.code);
    if (chatError.code === "internal" || chatError.code === "store_failed") {
      deps.log("http_error", { path: c.req.path, code: chatError.code, error: chatError.message });
    }
    return errorResponse(chatError);
  });
  return app;
}
