import type { Logger } from "../../core/types.ts";

/**
 * Deno's switch (since 2.5's successors; denoland/deno#35671) that makes `Deno.openKv()` refuse a
 * local or in-memory fallback instead of opening one silently.
 */
const REQUIRE_DISTRIBUTED = "DENO_KV_REQUIRES_DISTRIBUTED_DATABASE";

/**
 * Opens the app's own KV database on Deno Deploy (`Deno.openKv()` with no path) and says, in one
 * log line, when none is attached. An app deployed before its database is assigned gets a store of
 * its own per instance with no error (deploy_feedback#905): the chat then splits by instance. Deno
 * tells the two apart when asked to require a distributed database, so the first open asks; if it
 * is refused, the line `kv_not_shared` is logged and the local store is opened after all (the chat
 * still answers, on one instance at a time), rather than failing every request with 502.
 */
export async function openDeployKv(log: Logger): Promise<{ kv: Deno.Kv; shared: boolean }> {
  const before = Deno.env.get(REQUIRE_DISTRIBUTED);
  try {
    Deno.env.set(REQUIRE_DISTRIBUTED, "error");
    return { kv: await Deno.openKv(), shared: true };
  } catch (error) {
    log("kv_not_shared", {
      error: error instanceof Error ? error.message : String(error),
      fix:
        "assign a Deno KV database to this app (deno deploy database assign <db> --app <app>) and redeploy; until then every instance is a chat of its own",
    });
    Deno.env.delete(REQUIRE_DISTRIBUTED);
    return { kv: await Deno.openKv(), shared: false };
  } finally {
    if (before === undefined) Deno.env.delete(REQUIRE_DISTRIBUTED);
    else Deno.env.set(REQUIRE_DISTRIBUTED, before);
  }
}
