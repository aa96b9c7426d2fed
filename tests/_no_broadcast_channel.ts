// A chat started where BroadcastChannel does not exist (as on runtimes without it): it must pick
// the KV bus by itself and say so in one log line. Run by config_test.ts in its own process.
// deno-lint-ignore no-explicit-any
delete (globalThis as any).BroadcastChannel;
const { createChat } = await import("../src/mod.ts");
const chat = await createChat({ kvPath: ":memory:" });
await chat.close();
