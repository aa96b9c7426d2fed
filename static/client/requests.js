// @ts-check
/**
 * The commands waiting for the server's answer, and the outbox: messages kept until they are
 * acknowledged, resent with their key after every reconnection (so each is stored once).
 *
 * @module
 */
import { ChatClientError } from "./events.js";

/**
 * @typedef {Record<string, unknown> & { event: string }} ChatEvent
 * An event from the server.
 */

/**
 * A message waiting for its acknowledgement.
 * @typedef {{ room: string, text: string, key: string, replyTo?: string, resolve: (e: ChatEvent) => void, reject: (e: Error) => void }} OutboxEntry
 */

/** @typedef {{ resolve: (e: ChatEvent) => void, reject: (e: Error) => void }} Waiter */

/** One connection's commands in flight and messages not yet acknowledged. */
export class Requests {
  /** @type {Map<string, Waiter>} Answers awaited, by the command's `id`. */
  #pending = new Map();
  /** @type {Map<string, OutboxEntry>} Messages not yet acknowledged, by their command's `id`. */
  #outbox = new Map();
  #nextId = 0;
  /** @type {(frame: string) => void} */
  #send;

  /**
   * Requests written with `send` (the open socket's, or nothing while there is none).
   * @param {(frame: string) => void} send
   */
  constructor(send) {
    this.#send = send;
  }

  /**
   * Sends a command and resolves with the server's answer to it (rejects with its error).
   * @param {Record<string, unknown>} command
   * @param {string} [id] the command's `id` (a fresh one when absent)
   * @returns {Promise<ChatEvent>}
   */
  ask(command, id) {
    const re = id ?? `q${++this.#nextId}`;
    return new Promise((resolve, reject) => {
      const earlier = this.#pending.get(re);
      // The same id twice in flight (a `read` of one message): both get the one answer.
      this.#pending.set(re, {
        resolve: (event) => {
          earlier?.resolve(event);
          resolve(event);
        },
        reject: (error) => {
          earlier?.reject(error);
          reject(error);
        },
      });
      this.#send(JSON.stringify({ ...command, id: re }));
    });
  }

  /**
   * Queues a message until it is acknowledged: sent now when `open`, and by {@link resend}
   * after every reconnection until the server answers.
   * @param {string} room
   * @param {string} text
   * @param {string} key
   * @param {string | undefined} replyTo
   * @param {boolean} open
   * @returns {Promise<ChatEvent>}
   */
  queue(room, text, key, replyTo, open) {
    return new Promise((resolve, reject) => {
      const id = `s${++this.#nextId}`;
      const entry = { room, text, key, replyTo, resolve, reject };
      this.#outbox.set(id, entry);
      if (open) this.#sendMessage(id, entry);
    });
  }

  /**
   * The key a message was sent with, when `re` answers one of ours.
   * @param {string} re
   * @returns {string | undefined}
   */
  keyOf(re) {
    return this.#outbox.get(re)?.key;
  }

  /**
   * Settles the command that `event` answers (its `re`): an `error` rejects it.
   * @param {string} re
   * @param {ChatEvent} event
   * @returns {void}
   */
  answer(re, event) {
    const waiter = this.#pending.get(re);
    if (!waiter) return;
    this.#pending.delete(re);
    if (event.event === "error") {
      const { code, message, ...details } = event;
      waiter.reject(new ChatClientError(String(code), String(message), details));
    } else waiter.resolve(event);
  }

  /**
   * Sends every message not yet acknowledged again, with its key (after a reconnection).
   * @returns {void}
   */
  resend() {
    for (const [id, entry] of this.#outbox) this.#sendMessage(id, entry);
  }

  /**
   * The connection dropped: every command in flight fails (`disconnected`); the outbox stays,
   * to be resent.
   * @returns {void}
   */
  disconnected() {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const error = new ChatClientError("disconnected", "the connection closed");
    for (const waiter of pending) waiter.reject(error);
  }

  /**
   * The connection closed for good: every message not acknowledged fails (`closed`).
   * @param {number} code The close code.
   * @returns {void}
   */
  closed(code) {
    for (const entry of this.#outbox.values()) {
      entry.reject(new ChatClientError("closed", `the connection closed (${code})`));
    }
    this.#outbox.clear();
  }

  /**
   * @param {string} id
   * @param {OutboxEntry} entry
   */
  #sendMessage(id, entry) {
    this.#pending.set(id, {
      resolve: (event) => {
        this.#outbox.delete(id);
        entry.resolve(event);
      },
      reject: (error) => {
        // A dropped connection resends it; an answer from the server is final.
        if (error instanceof ChatClientError && error.code === "disconnected") return;
        this.#outbox.delete(id);
        entry.reject(error);
      },
    });
    this.#send(
      JSON.stringify({
        command: "broadcast",
        room: entry.room,
        message: entry.text,
        key: entry.key,
        ...(entry.replyTo === undefined ? {} : { replyTo: entry.replyTo }),
        id,
      }),
    );
  }
}
