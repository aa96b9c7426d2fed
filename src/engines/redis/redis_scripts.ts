// The Lua scripts of the Redis engine. Each runs atomically in Redis; the keys a script touches
// share one hash tag (a room's, the directory's or the name claims'), so that each runs on one
// Redis Cluster slot.

/**
 * Appends entries to a room's log if its head is still at the `seq` the caller built them on
 * (Centrifugo's pattern: one script checks the position, appends, publishes). Also writes the new
 * state of messages that changes target, claims idempotency keys, moves the head, and trims the
 * log to `maxMessages` entries (remembering the newest id dropped). `publish` is the command that
 * announces each entry: `PUBLISH` on one Redis, `SPUBLISH` on a Cluster (the room's channel is in
 * the room's slot, so the shard that commits is the shard that announces).
 *
 * KEYS: head, ids (a sorted set, all scores 0, ordered by id), data (id -> JSON), trimmed, then
 * one key per idempotency key claimed.
 * ARGV: expected seq, max entries, channel, n entries, m updates, k keys, then n × (id, JSON,
 * payload to publish or ""), m × (id, JSON), k × (value, ttl ms), new seq, new id.
 * Returns {1} when committed; {0, seq, id} when the head moved (the caller rebuilds and retries);
 * {-1} when an idempotency key is taken (the caller reads it and retries); {-2} when the room was
 * removed (see {@link SEAL_ROOM}).
 */
export function appendScript(publish: "PUBLISH" | "SPUBLISH"): string {
  return `
local state = redis.call('HMGET', KEYS[1], 'seq', 'id', 'sealed')
if state[3] then return {-2} end
local head = state[1] or '0'
if head ~= ARGV[1] then
  return {0, head, state[2] or ''}
end
local n = tonumber(ARGV[4])
local m = tonumber(ARGV[5])
local k = tonumber(ARGV[6])
for j = 1, k do
  if redis.call('EXISTS', KEYS[4 + j]) == 1 then return {-1} end
end
local i = 7
for j = 1, n do
  redis.call('ZADD', KEYS[2], 0, ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then redis.call('${publish}', ARGV[3], ARGV[i + 2]) end
  i = i + 3
end
for j = 1, m do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for j = 1, k do
  redis.call('SET', KEYS[4 + j], ARGV[i], 'PX', ARGV[i + 1])
  i = i + 2
end
redis.call('HSET', KEYS[1], 'seq', ARGV[i], 'id', ARGV[i + 1])
local max = tonumber(ARGV[2])
local excess = redis.call('ZCARD', KEYS[2]) - max
while excess > 0 do
  local chunk = math.min(excess, 1000)
  local doomed = redis.call('ZRANGE', KEYS[2], 0, chunk - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, chunk - 1)
  redis.call('HDEL', KEYS[3], unpack(doomed))
  redis.call('SET', KEYS[4], doomed[#doomed])
  excess = excess - chunk
end
return {1}
`;
}

/**
 * Deletes the given oldest ids of a room's log (those retention's age rule dropped) and records
 * the newest of them as trimmed, unless a newer one is recorded already.
 * KEYS: ids, data, trimmed. ARGV: the ids, oldest first.
 */
export const TRIM = `
redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('HDEL', KEYS[2], unpack(ARGV))
local newest = ARGV[#ARGV]
local current = redis.call('GET', KEYS[3])
if (not current) or current < newest then redis.call('SET', KEYS[3], newest) end
return 1
`;

/**
 * Creates a room unless its name is taken or the room count is at the cap (-1: no cap).
 * KEYS: by name, by id, ids. ARGV: name key, id, JSON, cap.
 * Returns {1}, {0, existing id}, or {-1} at the cap.
 */
export const CREATE_ROOM = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
local cap = tonumber(ARGV[4])
if cap >= 0 and redis.call('ZCARD', KEYS[3]) >= cap then return {-1} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return {1}
`;

/**
 * The first step of removing a room that never had an event, in the room's slot: marks its head
 * sealed unless it has events, so that no append can land once the room is gone (the append
 * script answers {-2}). The sealed head expires after a day. KEYS: the room's head. ARGV: ttl ms.
 * Returns 1 when sealed (or sealed already), 0 when the room has events.
 */
export const SEAL_ROOM = `
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq > 0 then return 0 end
redis.call('HSET', KEYS[1], 'seq', '0', 'sealed', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * The second step, in the directory's slot: removes a sealed room from the directory. KEYS: by
 * name, by id, ids. ARGV: id, name key. Returns 1 when removed, 0 when it was not there.
 */
export const DROP_ROOM = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[2]) end
return 1
`;

/**
 * Claims a display name for a member: free, held by the same member, or held by a node whose
 * liveness key has expired (a dead process). KEYS: claims, the holder's liveness key is built
 * from ARGV[4] (it shares the claims' hash tag). ARGV: name key, member id, node id, prefix of
 * liveness keys. Returns 1 when claimed, 0 when another live member holds it.
 */
export const CLAIM_NAME = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local cut = string.find(current, ' ', 1, true)
  local holder = string.sub(current, 1, cut - 1)
  local node = string.sub(current, cut + 1)
  if holder ~= ARGV[2] and redis.call('EXISTS', ARGV[4] .. node) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
return 1
`;

/**
 * Releases a claim if this member on this node still holds it. KEYS: claims. ARGV: name key,
 * member id, node id.
 */
export const RELEASE_NAME = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] .. ' ' .. ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
`;

/**
 * Moves a read position forward (never back) and renews its expiry. KEYS: the position. ARGV:
 * the message id, ttl ms. Returns the position after.
 */
export const MARK_READ = `
local current = redis.call('GET', KEYS[1])
if current and current >= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;
