/**
 * Mentions: `@name` in a message's text naming a member of the room when it is sent. Names may
 * hold spaces and suffixes (`@Ann Lee`, `@zoe-2`); the longest member name that follows the `@`
 * and ends where a word ends wins, compared without regard to case.
 *
 * @module
 */

/** A character that continues a name: `@zoe-2x` does not mention `zoe-2`. */
const NAME_CHAR = /[\p{L}\p{N}\p{M}_-]/u;

/** Someone a message may mention. */
export interface Mentionable {
  /** The display name. */
  readonly name: string;
  /** The member id the mention records. */
  readonly memberId: string;
}

/**
 * The member ids a text mentions, in the order first named, each once. Costs nothing for a text
 * without `@` (the common case).
 */
export function findMentions(text: string, members: Iterable<Mentionable>): string[] {
  if (!text.includes("@")) return [];
  const lowered = text.toLowerCase();
  const candidates = [...members].map((m) => ({ key: m.name.toLowerCase(), id: m.memberId }))
    .sort((a, b) => b.key.length - a.key.length); // the longest name first
  const found: string[] = [];
  for (let at = lowered.indexOf("@"); at >= 0; at = lowered.indexOf("@", at + 1)) {
    // An `@` inside a word (an e-mail address) names nobody.
    if (at > 0 && NAME_CHAR.test(lowered[at - 1])) continue;
    const match = candidates.find(({ key }) => {
      if (key.length === 0 || !lowered.startsWith(key, at + 1)) return false;
      const next = lowered.slice(at + 1 + key.length).match(/^./su)?.[0];
      return next === undefined || !NAME_CHAR.test(next);
    });
    if (match && !found.includes(match.id)) found.push(match.id);
  }
  return found;
}
