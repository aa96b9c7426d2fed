/**
 * Who a request without a socket comes from, for room access: a verified token's subject, or
 * else a valid session (`?session=` or the `X-Chat-Session` header), as the member id that
 * identity has on sockets too. A private room is seen only by its list, over HTTP as elsewhere.
 *
 * @module
 */
import { memberIdOf } from "../core/member_identity.ts";
import type { Viewer } from "../core/moderation.ts";
import type { SessionKeys } from "./sessions.ts";
import { grantOf, viewerOf } from "./tokens.ts";

const sessions = new WeakMap<Request, Viewer>();

/** The session a request names, if any. */
export function sessionOfRequest(request: Request): string | undefined {
  return request.headers.get("x-chat-session") ??
    new URL(request.url).searchParams.get("session") ?? undefined;
}

/** Remembers the identity of a request's valid session (tokens win when both are given). */
export function keepSessionViewer(request: Request, keys: SessionKeys | undefined): void {
  const claims = keys?.verify(sessionOfRequest(request), Date.now());
  if (claims) sessions.set(request, { memberId: memberIdOf(`session:${claims.id}`) });
}

/** Who the request comes from: its token's subject, else its session; undefined when neither. */
export function viewerFor(request: Request): Viewer | undefined {
  return viewerOf(grantOf(request)) ?? sessions.get(request);
}
