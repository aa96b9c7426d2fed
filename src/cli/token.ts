/**
 * `deno task token`: tokens for local use, in both of the server's modes.
 *
 * - `deno task token <name> [--rooms a,b] [--ttl seconds]`: an HS256 token signed with
 *   `CHAT_JWT_SECRET` (`ws://localhost:8000/ws?token=...`).
 * - `deno task token keys [--alg ES256|RS256|EdDSA] [--dir data/idp]`: a key pair as an identity
 *   provider has one: the private key (`private.jwk.json`) and the published key set
 *   (`jwks.json`), and the `CHAT_JWKS_URL` that serves it to the server (a `file:` URL).
 * - `deno task token <name> --key data/idp/private.jwk.json [--sub id]`: a token signed with that
 *   key, as the provider would issue it (`kid`, and `iss`/`aud` from `CHAT_JWT_ISSUER` and
 *   `CHAT_JWT_AUDIENCE` when set).
 *
 * @module
 */
import { sign } from "hono/jwt";
import { issueToken } from "../transport/tokens.ts";
import { KEY_ALGORITHMS, type KeyAlgorithm, makeKeyPair } from "./key_pairs.ts";

const ALGORITHMS = KEY_ALGORITHMS;
type Alg = KeyAlgorithm;

const USAGE = `usage:
  CHAT_JWT_SECRET=... deno task token <name> [--rooms a,b] [--ttl seconds]
  deno task token keys [--alg ES256|RS256|EdDSA] [--dir data/idp]
  deno task token <name> --key data/idp/private.jwk.json [--sub id] [--rooms a,b] [--ttl seconds]`;

/** Stops with a sentence and the usage. */
function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

const [first, ...rest] = Deno.args;
const option = (flag: string) => {
  const at = rest.indexOf(flag);
  return at >= 0 ? rest[at + 1] : undefined;
};

/** Writes a new key pair and its key set; prints the setting that points the server at it. */
async function makeKeys(): Promise<void> {
  const alg = (option("--alg") ?? "ES256") as Alg;
  if (!ALGORITHMS.includes(alg)) fail(`--alg must be one of ${ALGORITHMS.join(", ")}`);
  const dir = option("--dir") ?? "data/idp";
  const pair = await makeKeyPair(alg);
  const kid = `dev-${new Date().toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`;
  const strip = ({ key_ops: _ops, ext: _ext, ...jwk }: JsonWebKey) => jwk;
  const privateJwk = { ...strip(await crypto.subtle.exportKey("jwk", pair.privateKey)), kid, alg };
  const publicJwk = {
    ...strip(await crypto.subtle.exportKey("jwk", pair.publicKey)),
    kid,
    alg,
    use: "sig",
  };
  await Deno.mkdir(dir, { recursive: true });
  const privatePath = `${dir}/private.jwk.json`;
  await Deno.writeTextFile(privatePath, JSON.stringify(privateJwk, null, 2) + "\n", {
    mode: 0o600,
  });
  const jwksPath = `${dir}/jwks.json`;
  await Deno.writeTextFile(jwksPath, JSON.stringify({ keys: [publicJwk] }, null, 2) + "\n");
  const url = new URL(jwksPath, `file://${Deno.cwd()}/`).href;
  console.error(`wrote ${privatePath} (keep it private) and ${jwksPath} (${alg}, kid ${kid})`);
  console.log(`CHAT_JWKS_URL=${url}`);
}

/** A token signed with a private JWK written by `keys`. */
async function signWithKey(name: string, path: string, rooms?: string[], ttl = 3600) {
  let jwk: JsonWebKey & { kid?: string; alg?: string };
  try {
    jwk = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    return fail(`cannot read the key ${path}: ${error instanceof Error ? error.message : error}`);
  }
  const alg = jwk.alg as Alg;
  if (!ALGORITHMS.includes(alg) || jwk.d === undefined) {
    fail(`${path} is not a private key of ${ALGORITHMS.join(", ")} (run: deno task token keys)`);
  }
  const iat = Math.floor(Date.now() / 1000);
  const issuer = Deno.env.get("CHAT_JWT_ISSUER")?.trim();
  const audience = Deno.env.get("CHAT_JWT_AUDIENCE")?.trim();
  return await sign(
    {
      sub: option("--sub") ?? name,
      preferred_username: name,
      iat,
      exp: iat + ttl,
      ...(issuer ? { iss: issuer } : {}),
      ...(audience ? { aud: audience } : {}),
      ...(rooms ? { rooms } : {}),
    },
    { ...jwk, alg, kid: jwk.kid },
    alg,
  );
}

if (!first || first.startsWith("--")) fail("a name (or 'keys') is required");
if (first === "keys") {
  await makeKeys();
} else {
  const rooms = option("--rooms")?.split(",").map((r) => r.trim()).filter(Boolean);
  const ttl = Number(option("--ttl") ?? 3600);
  if (!Number.isInteger(ttl) || ttl <= 0) {
    fail(`--ttl must be a positive number of seconds, got '${option("--ttl")}'`);
  }
  const key = option("--key");
  if (key) {
    console.log(await signWithKey(first, key, rooms, ttl));
  } else {
    const secret = Deno.env.get("CHAT_JWT_SECRET");
    if (!secret) fail("CHAT_JWT_SECRET is not set (or sign with --key, see 'keys')");
    console.log(
      await issueToken(secret, first, {
        rooms,
        ttlSeconds: ttl,
        issuer: Deno.env.get("CHAT_JWT_ISSUER")?.trim() || undefined,
        audience: Deno.env.get("CHAT_JWT_AUDIENCE")?.trim() || undefined,
      }),
    );
  }
}
