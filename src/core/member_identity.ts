import { createHash } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * The member id of a token's subject: the same on every connection and node (a person's devices
 * are one member), shaped as a ULID (26 Crockford characters, the first at most `7`) so that it
 * passes wherever a member id does. Derived by SHA-256, so ids of different subjects do not meet.
 */
export function memberIdOf(subject: string): string {
  const digest = createHash("sha256").update(`member:${subject}`).digest();
  let id = CROCKFORD[digest[0] & 7];
  for (let i = 1; i < 26; i++) id += CROCKFORD[digest[i] & 31];
  return id;
}
