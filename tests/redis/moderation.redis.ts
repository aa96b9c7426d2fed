// Rooms you can run on the Redis engine: the moderation matrix (every role against every command
// and every read path of a private room) on a server whose store, bus and name claims are on a
// real redis-server.
import { startServer } from "../_helpers.ts";
import { MATRIX_LIMITS, moderationMatrix } from "../_moderation_matrix.ts";
import { startRedis } from "./_redis.ts";

const SECRET = "redis-matrix-secret";

Deno.test("the moderation matrix on the Redis engine", async () => {
  const redis = await startRedis();
  const server = await startServer({
    redisUrl: redis.url,
    jwtSecret: SECRET,
    ...MATRIX_LIMITS,
  });
  try {
    await moderationMatrix(server, SECRET);
  } finally {
    await server.close();
    await redis.close();
  }
});
