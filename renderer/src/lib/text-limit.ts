/**
 * How much room a message has left. The limit is the protocol's text limit (LIMITS.maxTextBytes in
 * relay/protocol/limits.ts, kept equal by tests/unit/renderer-errors.test.ts): the core refuses anything longer. It
 * counts UTF-8 bytes, so "characters left" never overstates the room (an emoji takes four).
 */
export const MAX_TEXT_BYTES = 64 * 1024;
/** The counter appears from this share of the limit on, so it is not noise for everyday messages. */
export const SHOW_COUNTER_FROM = 0.8;

const encoder = new TextEncoder();

export interface TextBudget {
  /** Bytes still free (negative when over). */
  left: number;
  showCounter: boolean;
  over: boolean;
}

export function textBudget(text: string, max = MAX_TEXT_BYTES): TextBudget {
  // Cheap path: a string can never encode to more than 3 bytes per UTF-16 unit.
  const bytes = text.length * 3 < max * SHOW_COUNTER_FROM ? text.length : encoder.encode(text).byteLength;
  const left = max - bytes;
  return { left, showCounter: bytes >= max * SHOW_COUNTER_FROM, over: left < 0 };
}
