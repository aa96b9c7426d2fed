/**
 * Signing key pairs as identity providers make them (for `deno task token keys` and the tests'
 * provider): RS256 (RSA 2048), ES256 (P-256) or EdDSA (Ed25519), made with WebCrypto.
 *
 * @module
 */

/** The algorithms a local key pair can be made for. */
export const KEY_ALGORITHMS = ["ES256", "RS256", "EdDSA"] as const;

/** One of {@link KEY_ALGORITHMS}. */
export type KeyAlgorithm = typeof KEY_ALGORITHMS[number];

/** A new extractable key pair for `alg`. */
export async function makeKeyPair(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  const params = alg === "RS256"
    ? {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    }
    : alg === "ES256"
    ? { name: "ECDSA", namedCurve: "P-256" }
    : { name: "Ed25519" };
  return await crypto.subtle.generateKey(params, true, ["sign", "verify"]) as CryptoKeyPair;
}
