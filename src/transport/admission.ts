import { ChatError } from "../core/errors.ts";

/**
 * Whether a browser page from `origin` may open a socket here: no `Origin` (a non-browser
 * client) and same-origin pass; other origins only when listed (or when the list holds `*`).
 */
export function checkOrigin(request: Request, allowed: readonly string[]): void {
  const origin = request.headers.get("origin");
  if (origin === null) return;
  const url = new URL(request.url);
  const host = request.headers.get("host") ?? url.host;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new ChatError("origin_forbidden", `origin '${origin}' is not allowed`);
  }
  if (originHost === host || allowed.includes("*") || allowed.includes(origin)) return;
  throw new ChatError("origin_forbidden", `origin '${origin}' is not allowed`);
}
