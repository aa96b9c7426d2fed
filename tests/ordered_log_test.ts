import { cluster } from "./_helpers.ts";
import { floodAndResume } from "./_resume_scenario.ts";

// The guarantee above the peers: a room is one log. Whichever isolate stores a message and
// whichever one a client resumes on, every stored event arrives once, in seq order.

/** The scenario `runs` times in a row on the bus that `extra` names. */
async function scenario(
  runs: number,
  extra: Record<string, unknown>,
  paceMs: number,
): Promise<void> {
  let resumes = 0;
  let messages = 0;
  for (let run = 0; run < runs; run++) {
    const c = await cluster(2, extra);
    const [a, b] = c.isolates;
    const result = await floodAndResume(run, { nodes: [a, b], close: () => c.close() }, paceMs);
    resumes += result.resumes;
    messages += result.messages;
  }
  console.log(`  ${messages} messages, ${resumes} resumes over ${runs} runs`);
}

Deno.test("broadcast-channel: 8 senders on two isolates, a reader resuming on alternate isolates: every message once, in seq order, 10 runs in a row", () =>
  scenario(10, {}, 8));

Deno.test("kv: 8 senders on two isolates, a reader resuming on alternate isolates: every message once, in seq order, 5 runs in a row", () =>
  scenario(5, { busKind: "kv" }, 30));
