/**
 * The search shortcuts and panel for the shell: Ctrl+F (⌘F) searches the open conversation (everything when none is
 * open), Ctrl+Shift+F (⌘⇧F) every conversation. The application menu shows the same shortcuts and, when chosen,
 * sends the same key to the page (electron/main/menu.ts), so both paths land here.
 */
import { useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import type { ConversationId, SearchHit } from '../../../../electron/contract/api.js';
import { isGroupKey } from '../group/rows.js';
import { searchShortcut } from './parts.js';
import { conversationName, SearchPanel, type SearchScope } from './SearchPanel.js';

/**
 * `openConversation`: the shell's key of the open conversation (a username, or a group's `g:` key); `nameOf`: a
 * conversation's title when the list knows it (a group's name).
 */
export function useMessageSearch(p: {
  openConversation: string | null;
  nameOf?: (id: ConversationId) => string | undefined;
  onPick: (hit: SearchHit) => void;
}): ReactNode {
  const [scope, setScope] = useState<SearchScope | null>(null);
  const { openConversation } = p;
  // Through a ref: the names change with every list reload, the shortcut listener need not.
  const nameOf = useRef(p.nameOf);
  nameOf.current = p.nameOf;
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const which = searchShortcut(e);
      if (!which) return;
      e.preventDefault();
      if (which !== 'conversation' || !openConversation) return setScope({});
      const conversation: ConversationId = isGroupKey(openConversation) ? openConversation : `d:${openConversation}`;
      setScope({ conversation, name: nameOf.current?.(conversation) ?? conversationName(conversation) });
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [openConversation]);
  if (!scope) return null;
  return (
    <SearchPanel
      // A new scope is a new search: fresh query, fresh results.
      key={scope.conversation ?? 'all'}
      scope={scope}
      onClose={() => setScope(null)}
      onSearchAll={() => setScope({})}
      nameOf={p.nameOf}
      onPick={(hit) => {
        setScope(null);
        p.onPick(hit);
      }}
    />
  );
}
