// @ts-check
/**
 * The connection's token, kept fresh: fetched with `getToken` when absent or expiring, replaced
 * in place (`refresh`) a while before it expires, forgotten after the server closed the
 * connection for an expired one.
 *
 * @module
 */
import { ChatClientError } from "./events.js";

/**
 * When a token expires (its `exp`, in ms), read without verifying; `undefined` if it says none.
 * @param {string | undefined} token
 * @returns {number | undefined}
 */
function expiryOf(token) {
  try {
    const part = String(token).split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const exp = JSON.parse(atob(part)).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long before its expiry a token is replaced: a fifth of its life, between 0.5 s and 60 s.
 * @param {number} lifetimeMs
 */
function refreshMargin(lifetimeMs) {
  return Math.min(60_000, Math.max(500, lifetimeMs / 5));
}

/**
 * What the keeper is given.
 * @typedef {object} TokenKeeperOptions
 * @property {string} [token] The token to start with.
 * @property {() => string | Promise<string>} [getToken] Gives a fresh token.
 * @property {(token: string) => Promise<unknown>} renew Hands a fresh token to the open
 *   connection (the `refresh` command).
 * @property {(token: string) => void} renewed Told of a token that replaced the last one.
 * @property {(error: ChatClientError) => void} failed Told of a refresh that failed.
 */

/** One connection's token, kept fresh. */
export class TokenKeeper {
  /** @type {string | undefined} */
  #token;
  /** @type {number | undefined} When the current token was received. */
  #issuedAt;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  /** Bumped whenever the connection opens or closes: a refresh begun before does not land. */
  #generation = 0;
  /** @type {TokenKeeperOptions} */
  #options;

  /**
   * A keeper of `options.token`, renewed through `options.getToken`.
   * @param {TokenKeeperOptions} options
   */
  constructor(options) {
    this.#options = options;
    this.#token = options.token;
  }

  /**
   * The token to connect with.
   * @returns {string | undefined}
   */
  get token() {
    return this.#token;
  }

  /**
   * Whether a fresh token can be had (`getToken` was given).
   * @returns {boolean}
   */
  get renewable() {
    return this.#options.getToken !== undefined;
  }

  /**
   * Fetches a fresh token first when it is due (absent, expired or expiring) and `getToken` can
   * give one; rejects with `token_failed` when it cannot.
   * @returns {Promise<void>}
   */
  async ready() {
    const getToken = this.#options.getToken;
    if (!getToken || !this.#stale()) return;
    try {
      this.#token = await getToken();
    } catch (error) {
      throw new ChatClientError("token_failed", `getToken failed: ${error}`);
    }
  }

  /**
   * The connection opened with the token: its replacement is scheduled before it expires.
   * @returns {void}
   */
  opened() {
    this.#generation++;
    this.#issuedAt = Date.now();
    this.#schedule();
  }

  /**
   * The connection closed: no refresh until it opens again; with `expired` (the server closed it
   * for an expired token) the token is never used again.
   * @param {boolean} [expired]
   * @returns {void}
   */
  closed(expired = false) {
    this.#generation++;
    clearTimeout(this.#timer);
    if (expired) this.#token = undefined;
  }

  /** Whether the token should be replaced before it is used (absent, expired or expiring). */
  #stale() {
    if (!this.#token) return true;
    const exp = expiryOf(this.#token);
    return exp !== undefined && exp - Date.now() < 500;
  }

  /** Schedules the token's replacement before it expires (with `getToken` only). */
  #schedule() {
    clearTimeout(this.#timer);
    const exp = expiryOf(this.#token);
    if (!this.#options.getToken || exp === undefined) return;
    const issued = this.#issuedAt ?? Date.now();
    const at = exp - refreshMargin(exp - issued);
    this.#timer = setTimeout(() => this.#refresh(), Math.max(0, at - Date.now()));
  }

  /**
   * Replaces the connection's token in place (`refresh`). When that fails the server closes
   * the connection at the expiry (`4001`) and the client reconnects with a fresh token.
   */
  async #refresh() {
    const generation = this.#generation;
    const { getToken, renew, renewed, failed } = this.#options;
    try {
      const token = await /** @type {() => string | Promise<string>} */ (getToken)();
      if (generation !== this.#generation) return;
      await renew(token);
      this.#token = token;
      this.#issuedAt = Date.now();
      renewed(token);
      this.#schedule();
    } catch (error) {
      failed(
        error instanceof ChatClientError
          ? error
          : new ChatClientError("token_failed", `getToken failed: ${error}`),
      );
    }
  }
}
