import { ChatError } from "../core/errors.ts";

/**
 * The origin a request was made to, as a browser would name it: the scheme (the proxy's
 * `X-Forwarded-Proto` when one terminates TLS; a browser cannot set that header on a cross-site
 * request) and the `Host`.
 */
function ownOrigin(request: Request): string {
  const url = new URL(request.url);
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0].trim();
  const scheme = forwarded === "https" || forwarded === "http" ? `${forwarded}:` : url.protocol;
  return `${scheme}//${request.headers.get("host") ?? url.host}`.toLowerCase();
}

/**
 * Whether a browser page from `origin` may use this server: no `Origin` (a non-browser client)
 * and the same origin (scheme, host and port, all compared) pass; other origins only when listed
 * (or when the list holds `*`).
 */
export function checkOrigin(request: Request, allowed: readonly string[]): void {
  const origin = request.headers.get("origin");
  if (origin === null) return;
  let normalised: string;
  try {
    normalised = new URL(origin).origin.toLowerCase();
  } catch {
    throw new ChatError("origin_forbidden", `origin '${origin.slice(0, 200)}' is not allowed`);
  }
  if (normalised === ownOrigin(request)) return;
  if (allowed.includes("*") || allowed.some((a) => a.toLowerCase() === normalised)) return;
  throw new ChatError("origin_forbidden", `origin '${origin.slice(0, 200)}' is not allowed`);
}

/**
 * With `CHAT_ALLOWED_HOSTS`, a request whose `Host` is not one of them is refused: a DNS-rebinding
 * page (its own name pointed at this server) then finds nothing, whatever its `Origin`.
 */
export function checkHost(request: Request, allowed: readonly string[]): void {
  if (allowed.length === 0) return;
  const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  const bare = host.replace(/:\d+$/, "");
  if (allowed.includes(host) || allowed.includes(bare)) return;
  throw new ChatError("origin_forbidden", `host '${host.slice(0, 200)}' is not served here`);
}

/**
 * The client's address: the peer's, or with `trustProxy` the first `X-Forwarded-For` entry (only
 * behind a proxy that sets it: a client could forge it otherwise). `undefined` when unknown (the
 * app was called without the peer, as in `app.request` tests).
 */
export function clientAddress(
  request: Request,
  remoteAddr: Deno.Addr | undefined,
  trustProxy: boolean,
): string | undefined {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0].trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return remoteAddr && "hostname" in remoteAddr ? remoteAddr.hostname : undefined;
}
