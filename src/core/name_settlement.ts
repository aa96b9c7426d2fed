import type { PresenceMember } from "./presence.ts";

/**
 * Two nodes may hand out one name at the same moment. Every node applies the same rule to the
 * holders of a name: the member with the smallest member id keeps it (all its connections); the
 * others must take another (each node renames only its own). Returns those others.
 */
export function clashLosers(holders: readonly PresenceMember[]): PresenceMember[] {
  if (holders.length < 2) return [];
  const keeper = holders.reduce((a, b) => (a.memberId < b.memberId ? a : b));
  return holders.filter((holder) => holder.memberId !== keeper.memberId);
}
