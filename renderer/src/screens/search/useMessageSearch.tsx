/**
 * The search shortcuts and panel for the shell: Ctrl+F (⌘F) searches the open conversation (everything when none is
 * open), Ctrl+Shift+F (⌘⇧F) every conversation. The application menu shows the same shortcuts and, when chosen,
 * sends the same key to the page (electron/main/menu.ts), so both paths land here.
 */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { SearchHit } from '../../../../electron/contract/api.js';
import { searchShortcut } from './parts.js';
import { SearchPanel, type SearchScope } from './SearchPanel.js';

export function useMessageSearch(p: { openConversation: string | null; onPick: (hit: SearchHit) => void }): ReactNode {
  const [scope, setScope] = useState<SearchScope | null>(null);
  const { openConversation } = p;
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const which = searchShortcut(e);
      if (!which) return;
      e.preventDefault();
      setScope(which === 'conversation' && openConversation ? { conversation: `d:${openConversation}`, name: openConversation } : {});
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
      onPick={(hit) => {
        setScope(null);
        p.onPick(hit);
      }}
    />
  );
}
