/**
 * The flags `deno task start` runs `main.ts` with (its permissions and V8 settings), read from
 * deno.json: `start:parallel`, the tests and the bench start the chat with the same ones.
 *
 * @module
 */

/** The words between `deno run` and `main.ts` in deno.json's `start` task. */
export function startTaskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  const words = String(config.tasks.start).split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}
