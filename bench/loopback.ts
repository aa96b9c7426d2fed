/** Small loopback helpers shared by the bench and the tests that run servers as processes. */

/** A free port on 127.0.0.1 (for a server started as its own process). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * GET /health on a fresh TCP connection, so that the kernel may hand it to any isolate behind the
 * port; returns the answering isolate's node id (`x-chat-node`), or "" when there is none.
 */
export async function healthNode(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    ),
  );
  let text = "";
  const buf = new Uint8Array(4096);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return /x-chat-node: (\S+)/i.exec(text)?.[1] ?? "";
}
