import type { Store } from "../core/store.ts";

/** What a session says: who (a random id), under which name, until when (seconds since epoch). */
export interface SessionClaims {
  readonly id: string;
  readonly name: string;
  readonly exp: number;
}

const VERSION = "s1";
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function fromBase64url(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.fromBase64(text, { alphabet: "base64url" });
  } catch {
    return undefined;
  }
}

/**
 * Sessions: a person is not a socket. A session is `s1.<claims>.<mac>`: its claims (a random id,
 * the name, the expiry) signed with HMAC-SHA-256 under a secret kept in the store, so that every
 * node and every restart agrees and nothing secret is in the code. It cannot be forged or
 * extended by a client; it expires (`CHAT_SESSION_TTL_S`, renewed each time it is used: every
 * `me` carries a fresh one); a new secret revokes every session at once.
 */
export class SessionKeys {
  private constructor(private readonly key: CryptoKey) {}

  /** The keys of the store's `sessions` secret (made on first use). */
  static async open(store: Pick<Store, "secret">): Promise<SessionKeys> {
    const raw = await store.secret("sessions");
    const key = await crypto.subtle.importKey(
      "raw",
      raw as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return new SessionKeys(key);
  }

  /** A new session id: 128 random bits. */
  static newId(): string {
    return base64url(crypto.getRandomValues(new Uint8Array(16)));
  }

  /** The session string for these claims. */
  async issue(claims: SessionClaims): Promise<string> {
    const body = base64url(
      encoder.encode(JSON.stringify({ i: claims.id, n: claims.name, e: claims.exp })),
    );
    const mac = new Uint8Array(
      await crypto.subtle.sign("HMAC", this.key, encoder.encode(`${VERSION}.${body}`)),
    );
    return `${VERSION}.${body}.${base64url(mac)}`;
  }

  /** The claims of a session this server issued that has not expired; `undefined` otherwise. */
  async verify(session: string | undefined, nowMs: number): Promise<SessionClaims | undefined> {
    if (!session || session.length > 1024) return undefined;
    const [version, body, mac] = session.split(".");
    if (version !== VERSION || !body || !mac) return undefined;
    const signature = fromBase64url(mac);
    if (!signature) return undefined;
    const valid = await crypto.subtle.verify(
      "HMAC",
      this.key,
      signature as Uint8Array<ArrayBuffer>,
      encoder.encode(`${version}.${body}`),
    );
    if (!valid) return undefined;
    try {
      const json = JSON.parse(new TextDecoder().decode(fromBase64url(body)));
      const { i, n, e } = json as { i: unknown; n: unknown; e: unknown };
      if (typeof i !== "string" || typeof n !== "string" || typeof e !== "number") return undefined;
      if (e * 1000 <= nowMs) return undefined;
      return { id: i, name: n, exp: e };
    } catch {
      return undefined;
    }
  }
}
