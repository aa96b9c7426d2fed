import type { Hono } from "hono";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
};

/** The page may load only its own scripts, styles and images, and talk only to its own origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * The file's bytes, or `undefined` when there is no such file. Any other failure (permissions, a
 * remote root that cannot be reached) is thrown: the app logs it and answers 500, not 404.
 */
async function readAsset(root: URL, name: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const url = new URL(name, root);
  if (url.protocol === "file:") {
    try {
      return await Deno.readFile(url);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory) {
        return undefined;
      }
      throw error;
    }
  }
  const response = await fetch(url);
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Serves the web client from `static/` at `/` and `/<file>`, with a Content-Security-Policy. */
export function mountStaticFiles(app: Hono, root: URL): void {
  const serve = async (name: string): Promise<Response | undefined> => {
    if (!SAFE_NAME.test(name)) return undefined;
    const body = await readAsset(root, name);
    if (!body) return undefined;
    const type = TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
    return new Response(body, {
      headers: {
        "content-type": type,
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-cache",
      },
    });
  };
  app.get("/", async (c) => (await serve("index.html")) ?? c.notFound());
  app.get("/:file", async (c) => (await serve(c.req.param("file"))) ?? c.notFound());
}
