/**
 * An identity provider's JSON Web Key Set (`CHAT_JWKS_URL`): fetched at start, kept as imported
 * keys by `kid`, fetched again when a token names a key it does not know — at once the first time
 * (a rotated-in key works on first use), then at most once per `refetchMs`, so that a stream of
 * made-up `kid`s cannot make the server hammer the provider — and when the set is older than
 * `maxAgeMs` (so a key the provider withdrew stops working).
 *
 * @module
 */
import type { Logger } from "../core/types.ts";

/** The signature algorithms an identity provider's tokens may use here. */
export type PublicAlgorithm = "RS256" | "ES256" | "EdDSA";

/** The algorithms of {@link PublicAlgorithm}, for checks. */
export const PUBLIC_ALGORITHMS: ReadonlySet<string> = new Set(["RS256", "ES256", "EdDSA"]);

/** One verification key of the set, imported, with the algorithm it serves. */
export interface VerificationKey {
  readonly kid?: string;
  readonly alg: PublicAlgorithm;
  readonly key: CryptoKey;
}

/** What a key's type says it can verify: RSA → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA. */
function algorithmOf(jwk: JsonWebKey & { kid?: unknown }): PublicAlgorithm | undefined {
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  return undefined;
}

/** WebCrypto's import parameters for an algorithm. */
function importParams(alg: PublicAlgorithm): RsaHashedImportParams | EcKeyImportParams | Algorithm {
  switch (alg) {
    case "RS256":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    case "ES256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "EdDSA":
      return { name: "Ed25519" };
  }
}

/**
 * Imports the usable keys of a JWKS document: public signature keys of a supported type whose
 * `alg` (when given) agrees with that type; symmetric (`oct`) keys, encryption keys and keys of
 * other types are left out (a public key set never verifies an HMAC token).
 */
export async function importKeySet(document: unknown): Promise<VerificationKey[]> {
  const keys = (document as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new TypeError("the JWKS has no 'keys' list");
  const usable: VerificationKey[] = [];
  for (const jwk of keys as (JsonWebKey & { kid?: unknown })[]) {
    if (typeof jwk !== "object" || jwk === null) continue;
    const alg = algorithmOf(jwk);
    if (!alg || (jwk.alg !== undefined && jwk.alg !== alg)) continue;
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    try {
      const { kid: _kid, alg: _alg, use: _use, key_ops: _ops, ...material } = jwk;
      const key = await crypto.subtle.importKey("jwk", material, importParams(alg), false, [
        "verify",
      ]);
      usable.push({ kid: typeof jwk.kid === "string" ? jwk.kid : undefined, alg, key });
    } catch {
      // A key that does not import (private parts missing, wrong size) verifies nothing.
    }
  }
  return usable;
}

/** Where the key set comes from and how often it may be read. */
export interface KeySetOptions {
  readonly url: string;
  /** The least time between two fetches caused by unknown `kid`s (30 s by default). */
  readonly refetchMs?: number;
  /** After this long the set is read again on next use (10 minutes by default). */
  readonly maxAgeMs?: number;
  /** How long one fetch may take (5 s by default). */
  readonly timeoutMs?: number;
  readonly clock?: () => number;
  readonly fetch?: typeof fetch;
  readonly log?: Logger;
}

/** An identity provider's keys, cached and fetched again within bounds. */
export class KeySet {
  #keys: VerificationKey[] = [];
  #fetchedAt = -Infinity;
  #triedAt = -Infinity;
  /** When an unknown `kid` last caused a fetch. */
  #unknownAt = -Infinity;
  #loading?: Promise<void>;
  #failing = false;
  readonly #clock: () => number;

  /** A key set read from `options.url` (nothing is fetched until {@link load} or first use). */
  constructor(private readonly options: KeySetOptions) {
    this.#clock = options.clock ?? Date.now;
  }

  /** How many fetches were made (for tests and the log). */
  fetches = 0;

  /**
   * Fetches the set now (one at a time). A failure keeps the keys it had, logs one line
   * (`jwks_unavailable`, once until it succeeds again) and does not throw.
   */
  load(): Promise<void> {
    return this.#loading ??= this.#fetch().finally(() => this.#loading = undefined);
  }

  async #fetch(): Promise<void> {
    this.#triedAt = this.#clock();
    this.fetches++;
    try {
      const response = await (this.options.fetch ?? fetch)(this.options.url, {
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
        headers: { accept: "application/json" },
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      this.#keys = await importKeySet(await response.json());
      this.#fetchedAt = this.#clock();
      if (this.#failing) this.options.log?.("jwks_loaded", { keys: this.#keys.length });
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) {
        this.options.log?.("jwks_unavailable", {
          url: this.options.url,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      this.#failing = true;
    }
  }

  /**
   * The key for a token's header: by `kid`, or the only key of that algorithm when the token
   * names none. Reads the set again first when it is stale, or when the key is unknown and no
   * unknown key caused a read in the last `refetchMs`; `undefined` when there is still no such key.
   */
  async keyFor(
    kid: string | undefined,
    alg: PublicAlgorithm,
  ): Promise<VerificationKey | undefined> {
    const now = this.#clock();
    if (now - this.#fetchedAt > (this.options.maxAgeMs ?? 600_000)) await this.#reload(now);
    let found = this.#find(kid, alg);
    if (!found && now - this.#unknownAt >= (this.options.refetchMs ?? 30_000)) {
      this.#unknownAt = now;
      await this.load();
      found = this.#find(kid, alg);
    }
    return found;
  }

  /** A stale set is read again, but no more often than unknown `kid`s may cause. */
  async #reload(now: number): Promise<void> {
    if (now - this.#triedAt >= (this.options.refetchMs ?? 30_000)) await this.load();
  }

  #find(kid: string | undefined, alg: PublicAlgorithm): VerificationKey | undefined {
    if (kid !== undefined) return this.#keys.find((key) => key.kid === kid && key.alg === alg);
    const candidates = this.#keys.filter((key) => key.alg === alg);
    return candidates.length === 1 ? candidates[0] : undefined;
  }
}
