/** A group's row in the conversation list: group glyph, name, member count, last message with its sender, unread. */
import { memo } from 'react';
import type { CSSProperties, ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import type { GroupConversationSummary } from '../../../../electron/contract/api.js';
import { listTime } from '../../lib/format.js';
import { GroupAvatar } from './GroupAvatar.js';

function preview(c: GroupConversationSummary, t: TFunction): string {
  if (c.draft) return t('shell.draft', { text: c.draft.replace(/\s+/g, ' ') });
  const m = c.lastMessage;
  if (!m) return t('group.members', { count: c.group.memberCount });
  if (m.state === 'undecryptable' || m.body === null) return t('message.undecryptable');
  const text = m.body.replace(/\s+/g, ' ');
  return m.direction === 'out' ? t('shell.you', { text }) : t('group.previewFrom', { name: m.sender ?? '', text });
}

export const GroupRow = memo(function GroupRow(p: {
  c: GroupConversationSummary;
  selected: boolean;
  onOpen: (key: string) => void;
  position: number;
  setSize: number;
  top: number;
}): ReactNode {
  const { c } = p;
  const { t, i18n } = useTranslation();
  const style: CSSProperties = { position: 'absolute', top: 0, left: 0, transform: `translateY(${p.top}px)` };
  return (
    <div
      role="option"
      tabIndex={p.selected ? 0 : -1}
      aria-selected={p.selected}
      // The list's keyboard code finds rows by data-username; for a group it holds the conversation id.
      data-username={c.id}
      data-testid="conversation"
      data-group={c.group.id}
      aria-posinset={p.position}
      aria-setsize={p.setSize}
      className={`row ${c.unread > 0 ? 'unread' : ''}`}
      style={style}
      onClick={() => p.onOpen(c.id)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          p.onOpen(c.id);
        }
      }}
    >
      <GroupAvatar name={c.group.name} id={c.group.id} />
      <div className="body">
        <div className="line">
          <span className="title">{c.group.name}</span>
          <span className="handle">{t('group.members', { count: c.group.memberCount })}</span>
          {c.group.request && <span className="tag">{t('shell.requestTag')}</span>}
          {!c.group.active && <span className="tag">{t('group.leftTag')}</span>}
          {c.lastMessage && <span className="time">{listTime(c.lastMessage.sentAt, Date.now(), i18n.language)}</span>}
        </div>
        <div className="line">
          <span className="preview" style={!c.lastMessage ? { fontStyle: 'italic' } : undefined}>
            {preview(c, t)}
          </span>
          {c.unread > 0 && (
            <>
              <span className="badge" data-testid="unread" aria-hidden>
                {c.unread > 99 ? '99+' : c.unread}
              </span>
              <span className="sr-only">{t('shell.unread', { count: c.unread })}</span>
            </>
          )}
        </div>
      </div>
    </div>
  );
});
