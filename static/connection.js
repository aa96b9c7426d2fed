// @ts-check
/// <reference lib="dom" />

import { FINAL_CLOSE_CODES } from "./close_codes.js";

/**
 * A WebSocket to the chat that reconnects with exponential backoff and jitter after a dropped
 * connection or a server restart (1001, 1006, 1011, 1013), and not after 1000, 1008 or 1009.
 * Each new socket is built by `url()`, so the caller can resume with `since`.
 */
export class Connection {
  /**
   * @param {() => string} url the socket URL for the next attempt
   * @param {{
   *   onEvent: (event: Record<string, unknown>) => void,
   *   onState: (state: "connecting" | "online" | "waiting" | "closed", detail: string) => void,
   *   onOpen: () => void,
   * }} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    /** @type {WebSocket | undefined} */
    this.socket = undefined;
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.stopped = false;
  }

  /** Opens the socket now. */
  open() {
    clearTimeout(this.timer);
    this.handlers.onState("connecting", this.attempt ? `attempt ${this.attempt + 1}` : "");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.handlers.onState("online", "");
      this.handlers.onOpen();
    };
    socket.onmessage = (message) => {
      /** @type {Record<string, unknown>} */
      let event;
      try {
        event = JSON.parse(String(message.data));
      } catch {
        return;
      }
      this.handlers.onEvent(event);
    };
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      if (this.stopped || FINAL_CLOSE_CODES.has(close.code)) {
        this.handlers.onState("closed", close.reason || `closed (${close.code})`);
        return;
      }
      this.retry();
    };
  }

  /** Schedules the next attempt: 0.5 s doubling to 15 s, with ±50% jitter. */
  retry() {
    const base = Math.min(15_000, 500 * 2 ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random()));
    this.attempt++;
    this.handlers.onState("waiting", `reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => this.open(), delay);
  }

  /**
   * Sends a command; returns false when the socket is not open (the caller shows it as failed).
   * @param {Record<string, unknown>} command
   */
  send(command) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(command));
    return true;
  }

  /** Closes for good. */
  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000);
  }
}
