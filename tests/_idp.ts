/**
 * A small identity provider for tests: key pairs made with WebCrypto, a JSON Web Key Set served
 * over real HTTP on 127.0.0.1 (which keys it publishes can change: rotation), and tokens signed
 * with those keys.
 */
import { sign } from "hono/jwt";
import { makeKeyPair } from "../src/cli/key_pairs.ts";

/** The algorithms an identity provider signs with here. */
export type Alg = "RS256" | "ES256" | "EdDSA";

/** A key pair of the provider, with its id. */
export interface ProviderKey {
  readonly kid: string;
  readonly alg: Alg;
  readonly privateJwk: JsonWebKey;
  readonly publicJwk: JsonWebKey & { kid: string; alg: Alg; use: "sig" };
}

/** Makes a key pair for `alg`, named `kid`. */
export async function makeKey(alg: Alg, kid: string): Promise<ProviderKey> {
  const pair = await makeKeyPair(alg);
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const publicJwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return {
    kid,
    alg,
    privateJwk,
    publicJwk: { ...publicJwk, kid, alg, use: "sig", key_ops: undefined, ext: undefined },
  };
}

/** Signs `claims` with a provider key (its `kid` and `alg` in the header). */
export function signWith(key: ProviderKey, claims: Record<string, unknown>): Promise<string> {
  return sign(claims, { ...key.privateJwk, alg: key.alg, kid: key.kid }, key.alg);
}

/** Seconds since the epoch, as JWT times are written. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A provider serving its key set at `jwksUrl`; `published` is what it serves now. */
export class IdentityProvider {
  published: ProviderKey[] = [];
  /** How many times the key set was fetched. */
  fetches = 0;
  /** While false, the key set answers 503. */
  up = true;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      if (new URL(request.url).pathname !== "/.well-known/jwks.json") {
        return new Response("not found", { status: 404 });
      }
      this.fetches++;
      if (!this.up) return new Response("unavailable", { status: 503 });
      return Response.json({ keys: this.published.map((key) => key.publicJwk) });
    });
  }

  /** Starts a provider publishing `keys`. */
  static start(keys: ProviderKey[] = []): IdentityProvider {
    const provider = new IdentityProvider();
    provider.published = keys;
    return provider;
  }

  /** The issuer URL (its origin). */
  get issuer(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/`;
  }

  /** Where the key set is. */
  get jwksUrl(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/.well-known/jwks.json`;
  }

  /** A token as the provider would issue it: issuer, audience, `sub`, an hour unless told. */
  token(key: ProviderKey, claims: Record<string, unknown> = {}): Promise<string> {
    const iat = nowSeconds();
    return signWith(key, {
      iss: this.issuer,
      aud: "chat",
      sub: "auth0|5f7c8ec7c33c6c004bbafe82",
      iat,
      exp: iat + 3600,
      ...claims,
    });
  }

  /** Stops serving. */
  close(): Promise<void> {
    return this.#server.shutdown();
  }
}
