/**
 * `deno task token <name> [--rooms a,b] [--ttl seconds]`: prints an HS256 token signed with
 * `CHAT_JWT_SECRET`, for local use (`ws://localhost:8000/ws?token=...`).
 *
 * @module
 */
import { issueToken } from "../transport/tokens.ts";

const secret = Deno.env.get("CHAT_JWT_SECRET");
const [name, ...rest] = Deno.args;
if (!secret || !name) {
  console.error("usage: CHAT_JWT_SECRET=... deno task token <name> [--rooms a,b] [--ttl seconds]");
  Deno.exit(2);
}
const option = (flag: string) => {
  const at = rest.indexOf(flag);
  return at >= 0 ? rest[at + 1] : undefined;
};
const rooms = option("--rooms")?.split(",").map((r) => r.trim()).filter(Boolean);
const ttl = Number(option("--ttl") ?? 3600);
if (!Number.isInteger(ttl) || ttl <= 0) {
  console.error(`--ttl must be a positive number of seconds, got '${option("--ttl")}'`);
  Deno.exit(2);
}
console.log(await issueToken(secret, name, { rooms, ttlSeconds: ttl }));
