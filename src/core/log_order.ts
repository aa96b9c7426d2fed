import { decodeTime, incrementBase32 } from "ulid";

/** Where a room's log stands: its newest `seq` (0 when empty) and that entry's id. */
export interface LogPosition {
  /** The number of events ever stored in the room; the `seq` of the newest. */
  readonly seq: number;
  /** The id of the newest event, when there is one. */
  readonly id?: string;
}

/** The position of an empty room. */
export const EMPTY_LOG: LogPosition = { seq: 0 };

/**
 * The id an appended event gets: the candidate made when it was sent, unless an earlier event of
 * the room already has an id at or above it (made a moment later on another node, or in the same
 * millisecond), in which case it is the next ULID after that one. Every store applies this rule
 * in the same atomic step that assigns `seq`, so a room's ids grow exactly as its `seq` does:
 * reading by id is reading in `seq` order, and `since=<id>` resumes in `seq` order.
 */
export function nextLogId(last: string | undefined, candidate: string): string {
  if (last === undefined || candidate > last) return candidate;
  return last.slice(0, 10) + incrementBase32(last.slice(10));
}

/** The millisecond a log id carries: the `ts` of the event it names. */
export function logTime(id: string): number {
  return decodeTime(id);
}
