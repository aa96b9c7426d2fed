// @ts-check
/**
 * The client library's errors and events: the error the server answered with, and the tiny
 * emitter that rooms and connections hand their events out through.
 *
 * @module
 */

/** An error the server answered with; `code` is its error code (`rate_limited`, ...). */
export class ChatClientError extends Error {
  /**
   * An error with the server's code and message.
   * @param {string} code
   * @param {string} message
   * @param {Record<string, unknown>} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = "ChatClientError";
    /** The error code. */
    this.code = code;
    /** What else the server said. */
    this.details = details;
  }
}

/** A tiny event emitter: `on` returns the function that stops listening. */
export class Emitter {
  /** @type {Map<string, Set<(value: any) => void>>} */
  #handlers = new Map();

  /**
   * Listens to `name`; returns the function that stops it.
   * @param {string} name
   * @param {(value: any) => void} handler
   * @returns {() => void}
   */
  on(name, handler) {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, set = new Set());
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Calls every listener of `name` with `value`.
   * @param {string} name
   * @param {unknown} value
   * @returns {void}
   */
  emit(name, value) {
    for (const handler of this.#handlers.get(name) ?? []) handler(value);
  }
}
