/**
 * The group timeline's pure parts: where system lines go among virtual rows (group/timeline-lines.ts), and the
 * History helpers the group uses (ids are per sender: an update names the message by id and sender).
 */
import { describe, expect, it } from 'vitest';
import type { GroupEventView, MessageView } from '../../electron/contract/api.js';
import { append, fromPage, messageAt, newestMatching, prependPage, update } from '../../renderer/src/lib/history.js';
import { linesBefore, tailLines } from '../../renderer/src/screens/group/timeline-lines.js';

const msg = (seq: number, at: number, o: Partial<MessageView> = {}): MessageView =>
  ({ id: `m${seq}`, seq, conversation: 'g:' + 'ab'.repeat(16), contact: '', sender: 'dave', direction: 'in', body: `#${seq}`, sentAt: at - 100, receivedAt: at, state: 'delivered', error: null, ...o }) as MessageView;
const line = (at: number, text: string): GroupEventView => ({ at, kind: 'change', text });

describe('system lines among virtual rows', () => {
  const events = [line(50, 'carol created “g”'), line(150, 'carol added erin'), line(250, 'erin left'), line(400, 'carol renamed the group to “h”')];
  const m1 = msg(1, 100);
  const m2 = msg(2, 200);
  const m3 = msg(3, 300);

  it('each line sits above the first message placed after it; newer ones form the tail', () => {
    expect(linesBefore(events, m1, undefined, 0).map((e) => e.text)).toEqual(['carol created “g”']);
    expect(linesBefore(events, m2, m1, 1).map((e) => e.text)).toEqual(['carol added erin']);
    expect(linesBefore(events, m3, m2, 2).map((e) => e.text)).toEqual(['erin left']);
    expect(tailLines(events, m3).map((e) => e.text)).toEqual(['carol renamed the group to “h”']);
    // Every line is placed exactly once.
    const placed = [...linesBefore(events, m1, undefined, 0), ...linesBefore(events, m2, m1, 1), ...linesBefore(events, m3, m2, 2), ...tailLines(events, m3)];
    expect(placed).toEqual(events);
  });

  it('a line older than the first loaded message waits for its page, unless that message opens the history', () => {
    expect(linesBefore(events, m2, undefined, 1)).toEqual([]);
    expect(linesBefore(events, m2, undefined, 0).map((e) => e.text)).toEqual(['carol created “g”', 'carol added erin']);
  });

  it('our own messages are placed by their send time; no messages: every line is the tail', () => {
    const own = msg(2, 0, { direction: 'out', sender: null, sentAt: 260, receivedAt: null });
    expect(linesBefore(events, own, m1, 1).map((e) => e.text)).toEqual(['carol added erin', 'erin left']);
    expect(tailLines(events, undefined)).toEqual(events);
  });
});

describe('History for a group', () => {
  it('an update names the message by id and a match (the same id from another sender stays)', () => {
    const a = msg(1, 100, { id: 'same', sender: 'dave' });
    const b = msg(2, 200, { id: 'same', sender: 'erin' });
    const h = fromPage({ messages: [a, b], nextCursor: null, total: 2 });
    const u = update(h, 'same', (m) => ({ ...m, body: 'edited' }), (m) => m.sender === 'dave');
    expect([messageAt(u, 0)!.body, messageAt(u, 1)!.body]).toEqual(['edited', '#2']);
    expect(update(h, 'same', (m) => m, (m) => m.sender === 'nobody')).toBe(h);
  });

  it('newestMatching looks back from the newest, across pages and appended messages', () => {
    const own = (seq: number) => msg(seq, seq * 10, { direction: 'out', sender: null });
    let h = fromPage({ messages: [own(5), msg(6, 60), own(7)], nextCursor: 5, total: 7 });
    h = prependPage(h, { messages: [own(1), msg(2, 20), own(3), msg(4, 40)], nextCursor: null });
    h = append(h, own(8));
    const ids = (n: number, within?: number) => newestMatching(h, n, (m) => m.direction === 'out', within).map((m) => m.seq);
    expect(ids(3)).toEqual([8, 7, 5]);
    expect(ids(10)).toEqual([8, 7, 5, 3, 1]);
    expect(ids(10, 3)).toEqual([8, 7]);
  });
});
