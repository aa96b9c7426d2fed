import type { AddressInfo } from "node:net";
import {
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from "node:http2";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createConnectRouter,
  createContextValues,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { malformedBinary } from "./malformed.ts";
import type { RateLimits } from "../../core/rate_limiter.ts";
import { WRITES_REFUSED } from "../status.ts";
import type { Hub } from "../../core/hub.ts";
import type { Logger } from "../../core/types.ts";
import type { Grant, TokenVerifier } from "../tokens.ts";
import { chatServiceRoutes, CLIENT, GRANT, HOLD_STREAM } from "./chat_service.ts";
import { file_chat_v1_chat } from "./gen/chat_v1/chat_pb.ts";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.ts";
import { file_grpc_reflection_v1_reflection } from "./gen/grpc/reflection/v1/reflection_pb.ts";
import { healthRoutes } from "./health_service.ts";
import { reflectionRoutes } from "./reflection_service.ts";

/** What the gRPC port needs of the chat. */
export interface GrpcDeps {
  readonly hub: Hub;
  /** Every open stream's way to end it (the chat's shutdown ends them all). */
  readonly streams: Set<() => void>;
  /** Checks tokens: when set, calls need `authorization: Bearer <token>`. */
  readonly tokens?: TokenVerifier;
  /** The largest request message, in bytes. */
  readonly maxBodyBytes: number;
  /** Per-client limits of writes (`CreateChat`, `SendMessage`), shared with the HTTP routes' rate. */
  readonly limits: RateLimits;
  /** Bytes of messages a slow `ConnectChat` reader may have waiting before it is ended. */
  readonly maxQueuedBytes: number;
  /** Admits a stream of this address like a socket (see `HOLD_STREAM`). */
  readonly holdStream: (address: string | undefined) => () => void;
  readonly log: Logger;
}

/** Where to listen. */
export interface GrpcAddress {
  readonly port: number;
  readonly hostname: string;
  /**
   * Share the port with other listeners of this process (SO_REUSEPORT): every isolate of
   * `deno serve --parallel` serves gRPC, and the kernel spreads connections over them.
   */
  readonly reusePort?: boolean;
}

/** A running gRPC listener. */
export interface GrpcServer {
  /** The port it listens on (the one asked for, or the one given for 0). */
  readonly port: number;
  /** Says NOT_SERVING, ends every call and connection, and stops listening. */
  close(): Promise<void>;
}

/** How long connections get to finish after a GOAWAY before they are cut. */
const GOAWAY_GRACE_MS = 500;

/** The token of a call's metadata, verified once, on first use. */
function lazyGrant(authorization: unknown, deps: GrpcDeps): () => Promise<Grant | undefined> {
  let grant: Promise<Grant | undefined> | undefined;
  return () =>
    grant ??= (async () => {
      if (!deps.tokens) return undefined;
      const header = typeof authorization === "string" ? authorization : "";
      const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      return await deps.tokens.verify(token);
    })();
}

/** Who a caller is for per-client limits: its token (when it sends one), else its address. */
function clientOf(request: Http2ServerRequest): string | undefined {
  const token = request.headers.authorization;
  return typeof token === "string" ? `token:${token}` : request.socket.remoteAddress;
}

/** A gRPC answer with no body: the status in the headers (a trailers-only response). */
function refuse(res: Http2ServerResponse, code: Code, message: string): void {
  res.writeHead(200, {
    "content-type": "application/grpc+proto",
    "grpc-status": String(code),
    "grpc-message": encodeURIComponent(message),
  });
  res.end();
}

/** Reads a request body up to `limit` bytes; `undefined` when it is longer. */
async function readBody(
  body: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/**
 * The Node request handler for the router, as Connect's `connectNodeAdapter` does it, with one
 * step more: a call whose client sends one message (unary, server streaming) has it parsed first,
 * so that garbage is INVALID_ARGUMENT rather than the INTERNAL Connect gives it.
 */
function grpcHandler(
  router: ConnectRouter,
  maxBytes: number,
  hooks: {
    readonly contextValues: (request: Http2ServerRequest) => ContextValues;
    /** Throws a `rate_limited` ChatError when the client is over its rate. */
    readonly limit: (request: Http2ServerRequest, method: string) => void;
  },
): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  const paths = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (!handler) {
      refuse(res, Code.Unimplemented, `no method ${req.url}`);
      return;
    }
    try {
      hooks.limit(req, handler.method.name);
    } catch (error) {
      return refuse(res, Code.ResourceExhausted, (error as Error).message);
    }
    const request = universalRequestFromNodeRequest(req, res, undefined, hooks.contextValues(req));
    const oneMessage = handler.method.methodKind === "unary" ||
      handler.method.methodKind === "server_streaming";
    (async () => {
      if (oneMessage && request.body) {
        const body = await readBody(request.body as AsyncIterable<Uint8Array>, maxBytes + 5);
        if (!body) return refuse(res, Code.ResourceExhausted, `a request over ${maxBytes} bytes`);
        const problem = malformedBinary(
          req.headers["content-type"] ?? "",
          body,
          handler.method.input,
        );
        if (problem) return refuse(res, Code.InvalidArgument, problem);
        request.body = (async function* () {
          yield body;
        })();
      }
      await universalResponseToNodeResponse(await handler(request), res);
    })().catch((reason) => {
      if (ConnectError.from(reason).code === Code.Aborted) return;
      console.error(`handler for rpc ${handler.method.name} failed`, reason);
    });
  };
}

/**
 * Serves `chat_v1.ChatService` over gRPC proper (HTTP/2 cleartext with trailers, what grpc-go,
 * grpcio and grpc-js speak) on its own port, with `grpc.health.v1.Health` and server reflection
 * beside it. `Deno.serve` cannot send HTTP trailers (denoland/deno#23632), `node:http2` can:
 * Connect's Node adapter serves the same router the HTTP app mounts, so there is one service
 * implementation behind Connect, gRPC-Web and gRPC.
 */
export async function serveGrpc(
  deps: GrpcDeps,
  where: GrpcAddress,
): Promise<GrpcServer> {
  const shutdown = new AbortController();
  const serving = {
    get draining() {
      return shutdown.signal.aborted;
    },
    shuttingDown: shutdown.signal,
  };
  const services = [
    file_chat_v1_chat,
    file_grpc_health_v1_health,
    file_grpc_reflection_v1_reflection,
  ];
  const router = createConnectRouter({
    grpc: true,
    connect: false,
    grpcWeb: false,
    readMaxBytes: deps.maxBodyBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  chatServiceRoutes(deps.hub, deps.streams, { maxQueuedBytes: deps.maxQueuedBytes })(router);
  healthRoutes(services.flatMap((f) => f.services.map((s) => s.typeName)), serving)(router);
  reflectionRoutes(services)(router);
  const handler = grpcHandler(router, deps.maxBodyBytes, {
    contextValues: (request) =>
      createContextValues()
        .set(GRANT, lazyGrant(request.headers.authorization, deps))
        .set(HOLD_STREAM, () => deps.holdStream(request.socket.remoteAddress))
        .set(CLIENT, clientOf(request)),
    limit: (request, method) => {
      if (method === "CreateChat" || method === "SendMessage") {
        deps.limits.demand(clientOf(request), WRITES_REFUSED);
      }
    },
  });
  const server = createServer(handler);
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: where.port, host: where.hostname, reusePort: where.reusePort }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  deps.log("grpc_listening", { port, hostname: where.hostname });
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () =>
      closing ??= (async () => {
        shutdown.abort();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const session of sessions) session.close();
        const grace = new Promise((resolve) => setTimeout(resolve, GOAWAY_GRACE_MS));
        await Promise.race([stopped, grace]);
        for (const session of sessions) session.destroy();
        await stopped;
      })(),
  };
}
