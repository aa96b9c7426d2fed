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

/** Whether an address is this machine's own (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
export function isLoopback(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

/** Whether a `Host` (without its port) is an IP literal or `localhost`: no DNS name to rebind. */
function isLiteralHost(bare: string): boolean {
  return bare === "localhost" || bare.endsWith(".localhost") || /^\d+\.\d+\.\d+\.\d+$/.test(bare) ||
    bare.startsWith("[");
}

/**
 * Closes DNS rebinding. With `CHAT_ALLOWED_HOSTS`, a request whose `Host` is not one of them is
 * refused. Without it, a request from this machine itself (a loopback address) must name the
 * server by an IP literal or `localhost`: a rebinding page (its own DNS name pointed at 127.0.0.1)
 * is refused, whatever its `Origin`. Behind a proxy on this machine, `CHAT_TRUST_PROXY=on` makes
 * the client's address the forwarded one, or list the public name in `CHAT_ALLOWED_HOSTS`.
 */
export function checkHost(
  request: Request,
  allowed: readonly string[],
  address: string | undefined,
): void {
  const host = (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  const bare = host.replace(/:\d+$/, "");
  if (allowed.length > 0) {
    if (allowed.includes(host) || allowed.includes(bare)) return;
    throw new ChatError("origin_forbidden", `host '${host.slice(0, 200)}' is not served here`);
  }
  if (address === undefined || !isLoopback(address) || isLiteralHost(bare)) return;
  throw new ChatError(
    "origin_forbidden",
    `host '${
      host.slice(0, 200)
    }' is not served to this machine (a DNS rebinding?); list it in CHAT_ALLOWED_HOSTS`,
  );
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
