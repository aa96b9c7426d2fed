import assert from "node:assert/strict";
import { Client, rawUpgrade, startProcess } from "./_helpers.ts";

/** Runs `deno task token` (src/cli/token.ts) with these arguments and settings. */
async function tokenTask(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "--allow-read", "--allow-write", "src/cli/token.ts", ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test("deno task token, identity-provider mode: 'keys' writes a key set a server reads from a file: URL, and tokens signed with the key get in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-idp-" });
  const keys = await tokenTask(["keys", "--alg", "EdDSA", "--dir", dir]);
  assert.equal(keys.code, 0, keys.stderr);
  const [, jwksUrl] = /^CHAT_JWKS_URL=(.+)$/.exec(keys.stdout)!;
  assert.equal(jwksUrl, new URL(`file://${dir}/jwks.json`).href);
  const published = JSON.parse(await Deno.readTextFile(`${dir}/jwks.json`));
  assert.equal(published.keys[0].d, undefined, "the key set holds no private part");
  const env = { CHAT_JWT_ISSUER: "dev-idp", CHAT_JWT_AUDIENCE: "chat" };
  const server = await startProcess({ CHAT_JWKS_URL: jwksUrl, ...env });
  try {
    const signed = await tokenTask(
      ["ann", "--key", `${dir}/private.jwk.json`, "--sub", "user-1", "--ttl", "60"],
      env,
    );
    assert.equal(signed.code, 0, signed.stderr);
    const ann = await Client.connect(server.ws, { token: signed.stdout });
    assert.equal(ann.me.member, "ann");
    // The same key without the issuer the server wants: refused.
    const other = await tokenTask(["eve", "--key", `${dir}/private.jwk.json`]);
    assert.equal((await rawUpgrade(server.port, `/ws?token=${other.stdout}`)).status, 401);
    await ann.close();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task token, secret mode: HS256 with the server's issuer and audience; clear errors without a secret or with a bad --ttl", async () => {
  const env = { CHAT_JWT_SECRET: "cli-secret", CHAT_JWT_ISSUER: "me", CHAT_JWT_AUDIENCE: "chat" };
  const server = await startProcess(env);
  try {
    const token = await tokenTask(["bob", "--ttl", "60"], env);
    assert.equal(token.code, 0, token.stderr);
    const bob = await Client.connect(server.ws, { token: token.stdout });
    assert.equal(bob.me.member, "bob");
    await bob.close();
  } finally {
    await server.stop();
  }
  const noSecret = await tokenTask(["bob"]);
  assert.equal(noSecret.code, 2);
  assert.match(noSecret.stderr, /CHAT_JWT_SECRET is not set/);
  const badTtl = await tokenTask(["bob", "--ttl", "soon"], env);
  assert.equal(badTtl.code, 2);
  assert.match(badTtl.stderr, /--ttl must be a positive number/);
});
