import type { Logger } from "./core/types.ts";

/** A logger writing one JSON object per line: `{"ts", "event", ...fields}`. */
export function jsonLogger(write: (line: string) => void = console.log): Logger {
  return (event, fields = {}) => {
    write(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }));
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = () => {};
