/**
 * How a run of messages is laid out: which rows start a new day (separator above), and which message ends a
 * group (time and state shown under it). Pure; unit-tested in tests/unit/renderer-timeline.test.ts.
 */
import type { MessageView } from '../../../electron/contract/api.js';
import { sameDay } from './format.js';

/** Messages from the same side less than this far apart form one group. */
export const GROUP_GAP_MS = 5 * 60_000;

export interface RowLayout {
  /** Show a day separator above this message. */
  daySeparator: boolean;
  /** First bubble of a group (a little more space above). */
  groupStart: boolean;
  /** Last bubble of a group: show time and state under it. */
  groupEnd: boolean;
}

type Stamp = Pick<MessageView, 'direction' | 'sentAt' | 'state'>;

function joins(a: Stamp, b: Stamp): boolean {
  return (
    a.direction === b.direction &&
    Math.abs(b.sentAt - a.sentAt) < GROUP_GAP_MS &&
    sameDay(a.sentAt, b.sentAt) &&
    // Each run of outgoing messages in one state gets its own time and state line; failures and undecryptable
    // messages always stand alone so their reason is shown.
    a.state === b.state &&
    a.state !== 'undecryptable' &&
    a.state !== 'failed'
  );
}

/** Layout of `cur` given its neighbours (undefined when not loaded / at the ends). */
export function rowLayout(prev: Stamp | undefined, cur: Stamp, next: Stamp | undefined): RowLayout {
  return {
    daySeparator: prev === undefined || !sameDay(prev.sentAt, cur.sentAt),
    groupStart: prev === undefined || !joins(prev, cur),
    groupEnd: next === undefined || !joins(cur, next),
  };
}
