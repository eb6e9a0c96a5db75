/**
 * The loaded messages of a group conversation: the newest page, or (opened at a search result) the window around
 * that message with its neighbours, which may end before the newest message (`hasNewer`: new messages are not
 * appended then, and "Jump to the latest messages" or sending loads the newest page). Earlier pages load on demand.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Dispatch, SetStateAction } from 'react';
import type { MessageView } from '../../../../electron/contract/api.js';
import { errorText } from '../../runtime/index.js';
import { useApp } from '../../state.js';
import type { JumpTarget } from '../search/jump.js';

const PAGE = 200;
/** Messages loaded on each side of a search result the group opens at (as in a direct chat). */
const JUMP_CONTEXT = 50;

export interface GroupTimeline {
  messages: MessageView[] | null;
  setMessages: Dispatch<SetStateAction<MessageView[] | null>>;
  /** Pass to load the page before the first loaded message; null at the start of the history. */
  cursor: number | null;
  /** The loaded window ends before the newest message. */
  hasNewer: boolean;
  /** The seq of the search result the group was opened at (highlighted), null otherwise. */
  target: number | null;
  /** True once per jump, until the target row has been scrolled into view. */
  pendingScroll: React.MutableRefObject<boolean>;
  older(): void;
  toLatest(): void;
}

export function useGroupTimeline(p: {
  conversation: `g:${string}`;
  jumpTo: JumpTarget | null;
  /** Bumped to load again (a message deleted on this device). */
  reloads: number;
  onLoaded: () => void;
  onError: (reason: string) => void;
}): GroupTimeline {
  const { bridge, fail } = useApp();
  const [messages, setMessages] = useState<MessageView[] | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [hasNewer, setHasNewer] = useState(false);
  const [target, setTarget] = useState<number | null>(null);
  const pendingScroll = useRef(false);
  // Through refs: a new callback from the parent must not load the timeline again.
  const loaded = useRef(p.onLoaded);
  loaded.current = p.onLoaded;
  const failed = useRef(p.onError);
  failed.current = p.onError;
  const { conversation, jumpTo } = p;

  const latest = useCallback(
    () =>
      bridge.loadMessages({ conversation, limit: PAGE }).then((page) => {
        setMessages(page.messages);
        setCursor(page.nextCursor);
        setHasNewer(false);
        setTarget(null);
      }),
    [bridge, conversation],
  );

  useEffect(() => {
    const load = jumpTo
      ? bridge
          .loadMessagesAround({ conversation, context: JUMP_CONTEXT, ...(jumpTo.seq !== undefined ? { seq: jumpTo.seq } : { id: jumpTo.id }) })
          .then((a) => {
            pendingScroll.current = true;
            setMessages(a.messages);
            setCursor(a.nextCursor);
            setHasNewer(a.hasNewer);
            setTarget(a.anchorSeq);
          })
      : latest();
    load.then(() => loaded.current(), (e: unknown) => failed.current(errorText(e)));
  }, [bridge, conversation, jumpTo?.nonce, p.reloads, latest]);

  const older = (): void => {
    if (cursor === null) return;
    bridge.loadMessages({ conversation, before: cursor, limit: PAGE }).then((page) => {
      setMessages((list) => [...page.messages, ...(list ?? [])]);
      setCursor(page.nextCursor);
    }, fail);
  };
  const toLatest = (): void => void latest().catch(fail);

  return { messages, setMessages, cursor, hasNewer, target, pendingScroll, older, toLatest };
}
