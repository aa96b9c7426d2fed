import type { Hono, MiddlewareHandler } from "hono";
import { compress } from "hono/compress";
import { etag } from "hono/etag";
import { secureHeaders } from "hono/secure-headers";
import { serveStatic } from "hono/serve-static";

/** The page may load only its own scripts, styles and images, and talk only to its own origin. */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  manifestSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

/** A file name of the client: no path, no dot first, and short (a long one is no file, not an error). */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

/**
 * A client file's bytes as a stream, from disk or from a remote root (the package loaded over
 * https), or `null` when there is no such file. Any other failure (permissions, an unreachable
 * root) is thrown: the app logs it and answers 500, not 404.
 */
async function readAsset(href: string): Promise<ReadableStream | null> {
  const url = new URL(href);
  if (url.protocol === "file:") {
    try {
      return (await Deno.open(url)).readable;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory) {
        return null;
      }
      throw error;
    }
  }
  const response = await fetch(url);
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${href} answered ${response.status}`);
  }
  return response.body;
}

/**
 * Serves the web client from `static/` at `/` and `/<file>` with Hono's middleware:
 * `serveStatic` (content types, one file per request, wherever the chat is mounted), an `ETag` so
 * that a returning browser revalidates with a `304` instead of downloading again, compression,
 * and `secureHeaders` with the page's Content-Security-Policy.
 */
export function mountStaticFiles(app: Hono, root: URL): void {
  const serve = (name: string): MiddlewareHandler => async (c, next) => {
    const [folder, file] = name.includes("/") ? name.split("/", 2) : [undefined, name];
    if (!SAFE_NAME.test(file) || (folder !== undefined && folder !== "ui" && folder !== "client")) {
      return await next();
    }
    return await serveStatic({
      root: root.href,
      path: name,
      join: (base, file) => new URL(file, base).href,
      getContent: readAsset,
    })(c, next);
  };
  const headers = secureHeaders({
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    referrerPolicy: "no-referrer",
  });
  const revalidate: MiddlewareHandler = async (c, next) => {
    await next();
    // Revalidate every time (cheap with the ETag): a new version is picked up at once.
    if (c.res.ok) c.header("cache-control", "no-cache");
  };
  const tag = etag();
  const zip = compress();
  app.get("/", headers, revalidate, tag, zip, (c, next) => serve("index.html")(c, next));
  // The client library is imported by pages of other sites too (a module import is a CORS
  // request), and changes rarely: cached for a day, revalidated with its ETag after that.
  const library = secureHeaders({ crossOriginResourcePolicy: "cross-origin" });
  const shareable: MiddlewareHandler = async (c, next) => {
    await next();
    if (!c.res.ok) return;
    c.header("cache-control", "public, max-age=86400");
    c.header("access-control-allow-origin", "*");
  };
  app.get("/client.js", library, shareable, tag, zip, (c, next) => serve("client.js")(c, next));
  // Its parts (`client/room.js`, ...), which the entry imports: served the same way.
  app.get("/client/:file", library, shareable, tag, zip, (c, next) => {
    const file = c.req.param("file");
    return SAFE_NAME.test(file) ? serve(`client/${file}`)(c, next) : next();
  });
  // Its types (`client.d.ts`) and the server's event types they import (`../src/core/types.ts`,
  // which imports nothing): a Deno program importing /client.js type-checks against both (Deno
  // takes a `.ts` served as `video/mp2t`, the registered type of that extension, as TypeScript).
  app.get("/client.d.ts", library, shareable, tag, zip, (c, next) => serve("client.d.ts")(c, next));
  app.get(
    "/src/core/types.ts",
    library,
    shareable,
    tag,
    zip,
    serveStatic({
      root: new URL("../src/core/", root).href,
      path: "types.ts",
      join: (base, file) => new URL(file, base).href,
      getContent: readAsset,
    }),
  );

  app.get(
    "/:file",
    headers,
    revalidate,
    tag,
    zip,
    (c, next) => serve(c.req.param("file"))(c, next),
  );
  // The web client's modules (one folder deep, names checked like the rest).
  app.get("/ui/:file", headers, revalidate, tag, zip, (c, next) => {
    const file = c.req.param("file");
    return SAFE_NAME.test(file) ? serve(`ui/${file}`)(c, next) : next();
  });
}
