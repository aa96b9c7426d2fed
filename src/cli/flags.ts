import { SettingsError } from "../config.ts";

/** What `deno task start` accepts on its command line; each wins over its variable. */
export interface ServeFlags {
  /** `--port N` (over `PORT`). */
  readonly port?: number;
  /** `--host H` (over `HOSTNAME`). */
  readonly hostname?: string;
}

/** The usage line of `deno task start`. */
export const SERVE_USAGE = "usage: deno task start [--port N] [--host H]";

/**
 * Parses `--port N`, `--host H` (also `--port=N`, `--host=H`, `--hostname`); anything else is
 * refused with a `SettingsError` that names it.
 */
export function parseServeFlags(args: readonly string[]): ServeFlags {
  let port: number | undefined;
  let hostname: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v === "") {
        throw new SettingsError(`${flag} needs a value; ${SERVE_USAGE}`);
      }
      return v;
    };
    if (flag === "--port" || flag === "-p") {
      const raw = value();
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        throw new SettingsError(`--port must be an integer from 0 to 65535, got '${raw}'`);
      }
      port = n;
    } else if (flag === "--host" || flag === "--hostname" || flag === "-H") {
      hostname = value().trim();
    } else {
      throw new SettingsError(`unknown option '${arg}'; ${SERVE_USAGE}`);
    }
  }
  return { port, hostname };
}
