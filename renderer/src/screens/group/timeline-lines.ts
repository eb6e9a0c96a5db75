/**
 * Where a group's system lines ("alice added carol", a refused change) go in the virtualized timeline: each line is
 * drawn above the first message placed after it, and the lines newer than the newest message form the tail row.
 * A line older than the first loaded message waits until the page it belongs with is loaded (unless that message is
 * the first of the whole history). Pure; unit-tested in tests/unit/renderer-group-timeline.test.ts.
 */
import type { GroupEventView, MessageView } from '../../../../electron/contract/api.js';

/** Incoming messages count from when this computer stored them (as in a direct chat's key-change lines). */
export const placedAt = (m: MessageView): number => (m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt);

/**
 * The lines above message `m` at conversation position `index`; `prev` is the message before it when loaded.
 * `events` oldest first.
 */
export function linesBefore(events: readonly GroupEventView[], m: MessageView, prev: MessageView | undefined, index: number): GroupEventView[] {
  const at = placedAt(m);
  if (prev) {
    const from = placedAt(prev);
    return events.filter((e) => e.at > from && e.at <= at);
  }
  return index === 0 ? events.filter((e) => e.at <= at) : [];
}

/** The lines after the newest message (all of them when there is no message yet). */
export function tailLines(events: readonly GroupEventView[], newest: MessageView | undefined): GroupEventView[] {
  if (!newest) return events.slice();
  const at = placedAt(newest);
  return events.filter((e) => e.at > at);
}
