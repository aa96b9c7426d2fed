// What the seeded fuzz tests share.

/** A small seeded generator (mulberry32), so that a failing run can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Strings that have broken parsers before: empty, control, lone surrogates, bidi, long, markup. */
export const EDGE_STRINGS = [
  "",
  " ",
  "\u0000",
  "\ud800",
  "\udfff",
  "\u202e",
  "\ufeff",
  "😀".repeat(40),
  "e\u0301",
  "𝕏",
  "\u2028",
  "a".repeat(4001),
  "<img src=x onerror=alert(1)>",
  "lobby",
  "01ARZ3NDEKTSV4RRFFQ69G5FAV",
  "zzzzzzzzzzzzzzzzzzzzzzzzzz",
];
