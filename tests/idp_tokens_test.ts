import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { ChatError } from "../src/core/errors.ts";
import { KeySet } from "../src/transport/jwks.ts";
import { issueToken, TokenVerifier } from "../src/transport/tokens.ts";
import { IdentityProvider, makeKey, nowSeconds, signWith } from "./_idp.ts";

const SECRET = "hs256-secret-for-idp-tests";

/** Rejects with a ChatError of `code`. */
async function refusedWith(work: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof ChatError, `not a ChatError: ${error}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** A verifier on a real provider's key set, its clock in the test's hands. */
function verifierFor(
  provider: IdentityProvider,
  options: { secret?: string; issuer?: string; audience?: string; clock?: () => number } = {},
) {
  const keys = new KeySet({ url: provider.jwksUrl, clock: options.clock });
  const verifier = new TokenVerifier({
    keys,
    secret: options.secret,
    issuer: options.issuer ?? provider.issuer,
    audience: options.audience ?? "chat",
    maxTtlSeconds: 24 * 3600,
    clock: options.clock,
  });
  return { keys, verifier };
}

Deno.test("JWKS: RS256, ES256 and EdDSA tokens verify; the subject is the identity, a readable claim the name", async () => {
  const keys = await Promise.all([
    makeKey("RS256", "rsa-1"),
    makeKey("ES256", "ec-1"),
    makeKey("EdDSA", "ed-1"),
  ]);
  const provider = IdentityProvider.start(keys);
  try {
    const { verifier } = verifierFor(provider);
    for (const key of keys) {
      const grant = await verifier.verify(
        await provider.token(key, { preferred_username: `ann-${key.alg}` }),
      );
      assert.equal(grant.subject, "auth0|5f7c8ec7c33c6c004bbafe82");
      assert.equal(grant.name, `ann-${key.alg}`);
    }
    // Without a readable name claim, the subject is the name.
    const plain = await verifier.verify(await provider.token(keys[1], { sub: "user-42" }));
    assert.deepEqual([plain.subject, plain.name], ["user-42", "user-42"]);
    assert.equal(provider.fetches, 1, "one fetch serves every known kid");
  } finally {
    await provider.close();
  }
});

Deno.test("JWKS: a wrong or missing issuer or audience is refused; an audience list that includes ours passes", async () => {
  const key = await makeKey("ES256", "ec-1");
  const provider = IdentityProvider.start([key]);
  try {
    const { verifier } = verifierFor(provider);
    await refusedWith(
      verifier.verify(await provider.token(key, { iss: "https://evil.example/" })),
      "unauthorized",
      /not issued by/,
    );
    await refusedWith(
      verifier.verify(await provider.token(key, { iss: undefined })),
      "unauthorized",
      /not issued by/,
    );
    await refusedWith(
      verifier.verify(await provider.token(key, { aud: "another-app" })),
      "unauthorized",
      /not meant for chat/,
    );
    await refusedWith(
      verifier.verify(await provider.token(key, { aud: undefined })),
      "unauthorized",
      /not meant for chat/,
    );
    const listed = await verifier.verify(await provider.token(key, { aud: ["api", "chat"] }));
    assert.equal(listed.subject, "auth0|5f7c8ec7c33c6c004bbafe82");
  } finally {
    await provider.close();
  }
});

Deno.test("JWKS: expired is token_expired; not yet valid, no expiry, too long and a bad signature are refused", async () => {
  const key = await makeKey("RS256", "rsa-1");
  const other = await makeKey("RS256", "rsa-1"); // same kid, another key: a forgery
  const provider = IdentityProvider.start([key]);
  try {
    const { verifier } = verifierFor(provider);
    const now = nowSeconds();
    await refusedWith(
      verifier.verify(await provider.token(key, { iat: now - 120, exp: now - 60 })),
      "token_expired",
    );
    await refusedWith(
      verifier.verify(await provider.token(key, { nbf: now + 60 })),
      "unauthorized",
      /not valid yet \(nbf\)/,
    );
    await refusedWith(
      verifier.verify(await provider.token(key, { exp: undefined })),
      "unauthorized",
      /no expiry/,
    );
    await refusedWith(
      verifier.verify(await provider.token(key, { exp: now + 40 * 24 * 3600 })),
      "unauthorized",
      /longer than/,
    );
    await refusedWith(verifier.verify(await provider.token(other)), "unauthorized");
    // A token whose claims were changed after signing.
    const good = await provider.token(key);
    const [header, , signature] = good.split(".");
    const forged = btoa(JSON.stringify({ sub: "admin", exp: now + 60, iss: provider.issuer }))
      .replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
    await refusedWith(verifier.verify(`${header}.${forged}.${signature}`), "unauthorized");
    await refusedWith(verifier.verify("not-a-token"), "unauthorized", /not a JWT/);
    await refusedWith(verifier.verify(undefined), "unauthorized", /required/);
  } finally {
    await provider.close();
  }
});

Deno.test("JWKS: alg none and algorithm confusion (HS256 signed with the public key) are refused", async () => {
  const key = await makeKey("RS256", "rsa-1");
  const provider = IdentityProvider.start([key]);
  try {
    const claims = { iss: provider.issuer, aud: "chat", sub: "mallory", exp: nowSeconds() + 600 };
    const part = (value: unknown) =>
      btoa(JSON.stringify(value)).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
    const none = `${part({ alg: "none", typ: "JWT", kid: "rsa-1" })}.${part(claims)}.`;
    const publicText = JSON.stringify(key.publicJwk);
    const confused = await sign(claims, publicText, "HS256");
    // Only keys: HS256 is not accepted at all.
    const { verifier } = verifierFor(provider);
    await refusedWith(verifier.verify(none), "unauthorized", /algorithm "none"/);
    await refusedWith(verifier.verify(confused), "unauthorized", /HS256 tokens are not accepted/);
    // Keys and a secret: HS256 is checked with the secret only, never with a public key.
    const both = verifierFor(provider, { secret: SECRET }).verifier;
    await refusedWith(both.verify(confused), "unauthorized");
    const hs = await issueToken(SECRET, "ann", { issuer: provider.issuer, audience: "chat" });
    assert.equal((await both.verify(hs)).name, "ann", "HS256 keeps working beside the keys");
    // An RS256 token on a server with only a secret is refused.
    const secretOnly = new TokenVerifier({ secret: SECRET });
    await refusedWith(
      secretOnly.verify(await provider.token(key)),
      "unauthorized",
      /CHAT_JWKS_URL/,
    );
  } finally {
    await provider.close();
  }
});

Deno.test("JWKS: a flood of unknown kids fetches at most once per 30 s; rotation is picked up then, withdrawn keys stop working", async () => {
  const old = await makeKey("ES256", "2026-01");
  const next = await makeKey("ES256", "2026-02");
  const provider = IdentityProvider.start([old]);
  let now = Date.now();
  try {
    const { verifier } = verifierFor(provider, { clock: () => now });
    await verifier.verify(await provider.token(old));
    assert.equal(provider.fetches, 1);
    /** 100 tokens naming keys nobody has, each refused. */
    const flood = async () => {
      for (let i = 0; i < 100; i++) {
        const junk = await signWith({ ...next, kid: `junk-${i}` }, {
          iss: provider.issuer,
          aud: "chat",
          sub: "x",
          exp: nowSeconds() + 60,
        });
        await refusedWith(verifier.verify(junk), "unauthorized", /no key 'junk-/);
      }
    };
    // 100 tokens naming keys nobody has: one fetch, not 100.
    await flood();
    assert.equal(provider.fetches, 2, "one fetch for 100 unknown kids");
    // The provider rotates: within 30 s of that fetch, the new key is not fetched for...
    provider.published = [next];
    await refusedWith(verifier.verify(await provider.token(next)), "unauthorized", /no key/);
    assert.equal(provider.fetches, 2);
    // ...30 s later it is, and works; the withdrawn key no longer does.
    now += 30_000;
    const grant = await verifier.verify(await provider.token(next));
    assert.equal(grant.subject, "auth0|5f7c8ec7c33c6c004bbafe82");
    assert.equal(provider.fetches, 3);
    await flood();
    assert.equal(provider.fetches, 3, "within 30 s of the last unknown-kid fetch: none");
    await refusedWith(
      verifier.verify(await provider.token(old)),
      "unauthorized",
      /no key '2026-01'/,
    );
  } finally {
    await provider.close();
  }
});

Deno.test("JWKS: a key set that cannot be fetched is one log line; tokens are refused until it can be", async () => {
  const key = await makeKey("EdDSA", "ed-1");
  const provider = IdentityProvider.start([key]);
  provider.up = false;
  const lines: [string, Record<string, unknown> | undefined][] = [];
  let now = Date.now();
  try {
    const keys = new KeySet({
      url: provider.jwksUrl,
      clock: () => now,
      log: (event, fields) => lines.push([event, fields]),
    });
    await keys.load();
    const verifier = new TokenVerifier({ keys, clock: () => now });
    const token = await provider.token(key);
    await refusedWith(verifier.verify(token), "unauthorized", /no key 'ed-1'/);
    now += 30_000;
    await refusedWith(verifier.verify(token), "unauthorized", /no key 'ed-1'/);
    assert.deepEqual(lines.map(([event]) => event), ["jwks_unavailable"], "said once");
    assert.match(String(lines[0][1]?.error), /503/);
    provider.up = true;
    now += 30_000;
    assert.equal((await verifier.verify(token)).subject, "auth0|5f7c8ec7c33c6c004bbafe82");
    assert.deepEqual(lines.map(([event]) => event), ["jwks_unavailable", "jwks_loaded"]);
  } finally {
    await provider.close();
  }
});

Deno.test("JWKS: a key rotated in right after start works on first use (the first unknown kid is fetched at once)", async () => {
  const old = await makeKey("RS256", "a");
  const next = await makeKey("ES256", "b");
  const provider = IdentityProvider.start([old]);
  try {
    const { keys, verifier } = verifierFor(provider, { clock: () => Date.now() });
    await keys.load();
    provider.published = [old, next];
    const grant = await verifier.verify(await provider.token(next));
    assert.equal(grant.subject, "auth0|5f7c8ec7c33c6c004bbafe82");
    assert.equal(provider.fetches, 2);
  } finally {
    await provider.close();
  }
});
