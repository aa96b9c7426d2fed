/**
 * What every part of `deno task bench` shares: its flags, the size of a message, how a figure
 * is printed, how the docs it rewrites are written.
 *
 * @module
 */

export const SMOKE = Deno.args.includes("--smoke");
/** `--only <text>`: run only the servers whose name contains it (for profiling one). */
export const ONLY = Deno.args.includes("--only")
  ? Deno.args[Deno.args.indexOf("--only") + 1]
  : undefined;
/** `--window <n>`: messages each sender keeps in flight at saturation. */
export const WINDOW = Number(
  Deno.args.includes("--window") ? Deno.args[Deno.args.indexOf("--window") + 1] : 8,
);
/** Characters of message text: about a chat line. */
export const PAYLOAD = 100;
/**
 * Relay frames are padded to the size of our `broadcast` event for the same text (ids, names,
 * room and timestamp included), so that every server delivers the same bytes per delivery.
 */
export const RELAY_FRAME = JSON.stringify({
  event: "broadcast",
  room: "01KA0000000000000000000000",
  id: "01KA0000000000000000000000",
  member: "r12-3",
  memberId: "01KA0000000000000000000000",
  message: "x".repeat(PAYLOAD),
  ts: Date.now(),
}).length;
/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Unrecorded load before each latency measurement. */
export const WARMUP_MS = 1000;

/** A figure as the report prints it (thousands separated, `–` for none). */
export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";

/**
 * Writes each file (path → text), then formats them as `deno fmt` wants, so that `deno task check`
 * stays clean after a run.
 */
export async function writeFormatted(files: Record<string, string>): Promise<void> {
  for (const [file, text] of Object.entries(files)) await Deno.writeTextFile(file, text);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", ...Object.keys(files)] })
    .output();
}
