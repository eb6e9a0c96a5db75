/**
 * The actions on one message: a toolbar shown on hover and when focus is inside the message (so the keyboard
 * reaches it with Tab), and the same actions as a context menu (right click, the Menu key or Shift+F10 on the
 * message; arrow keys move, Escape closes and returns focus). Copy, reply, react, edit, delete, info.
 */
import { useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Copy, CornerUpLeft, Info, Pencil, SmilePlus, Trash2 } from 'lucide-react';
import type { MessageView } from '../../../../../electron/contract/api.js';
import { QUICK_REACTIONS, canChange, type MessageActionHandlers } from './types.js';

interface Item {
  key: string;
  label: string;
  icon: ReactNode;
  run: () => void;
}

function useItems(m: MessageView, h: MessageActionHandlers): Item[] {
  const { t } = useTranslation();
  const items: Item[] = [];
  if (m.body !== null && !m.deleted) {
    items.push({ key: 'reply', label: t('actions.reply'), icon: <CornerUpLeft size={16} aria-hidden />, run: () => h.onReply(m) });
    items.push({ key: 'copy', label: t('actions.copy'), icon: <Copy size={16} aria-hidden />, run: () => h.onCopy(m) });
  }
  if (canChange(m, Date.now())) items.push({ key: 'edit', label: t('actions.edit'), icon: <Pencil size={16} aria-hidden />, run: () => h.onEdit(m) });
  items.push({ key: 'delete', label: t('actions.delete'), icon: <Trash2 size={16} aria-hidden />, run: () => h.onDelete(m) });
  items.push({ key: 'info', label: t('actions.info'), icon: <Info size={16} aria-hidden />, run: () => h.onInfo(m) });
  return items;
}

/** Reactions are offered on messages with text that are not deleted and not failed. */
const reactable = (m: MessageView): boolean => m.body !== null && !m.deleted && m.state !== 'failed' && m.state !== 'sending';

export function MessageToolbar({ m, h }: { m: MessageView; h: MessageActionHandlers }): ReactNode {
  const { t } = useTranslation();
  const items = useItems(m, h);
  const [picking, setPicking] = useState(false);
  const mine = Object.entries(m.reactions ?? {}).find(([, who]) => who.includes(h.me))?.[0] ?? null;
  return (
    <div className={`msg-toolbar ${picking ? 'open' : ''}`} role="toolbar" aria-label={t('actions.toolbar')} data-testid="message-toolbar">
      {reactable(m) && (
        <button type="button" className="icon-btn sm" aria-label={t('actions.react')} title={t('actions.react')} aria-expanded={picking} onClick={() => setPicking((v) => !v)} data-action="react">
          <SmilePlus size={16} aria-hidden />
        </button>
      )}
      {picking && (
        <span className="emoji-row" role="group" aria-label={t('actions.react')}>
          {QUICK_REACTIONS.map((e) => (
            <button
              key={e}
              type="button"
              className={`icon-btn sm ${mine === e ? 'on' : ''}`}
              aria-label={mine === e ? t('actions.removeReaction', { emoji: e }) : t('actions.reactWith', { emoji: e })}
              aria-pressed={mine === e}
              data-emoji={e}
              onClick={() => {
                setPicking(false);
                h.onReact(m, mine === e ? null : e);
              }}
            >
              <span aria-hidden>{e}</span>
            </button>
          ))}
        </span>
      )}
      {items.map((i) => (
        <button key={i.key} type="button" className="icon-btn sm" aria-label={i.label} title={i.label} onClick={i.run} data-action={i.key}>
          {i.icon}
        </button>
      ))}
    </div>
  );
}

/** The context menu of a message, at (x, y) in the window. */
export function MessageMenu({ m, h, at, onClose }: { m: MessageView; h: MessageActionHandlers; at: { x: number; y: number }; onClose: () => void }): ReactNode {
  const { t } = useTranslation();
  const items = useItems(m, h);
  const ref = useRef<HTMLDivElement>(null);
  const all: Item[] = [
    ...(reactable(m) ? QUICK_REACTIONS.map((e) => ({ key: `react-${e}`, label: t('actions.reactWith', { emoji: e }), icon: <span aria-hidden>{e}</span>, run: () => h.onReact(m, e) })) : []),
    ...items,
  ];
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const away = (e: MouseEvent): void => {
      if (!ref.current?.contains(e.target as Node)) onClose();
    };
    document.addEventListener('mousedown', away);
    return () => {
      document.removeEventListener('mousedown', away);
      prev?.focus?.();
    };
  }, [onClose]);
  const onKey = (e: React.KeyboardEvent): void => {
    const list = [...(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const i = list.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      onClose();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = (i + (e.key === 'ArrowDown' ? 1 : -1) + list.length) % list.length;
      list[next]?.focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      list[e.key === 'Home' ? 0 : list.length - 1]?.focus();
    }
  };
  const x = Math.min(at.x, window.innerWidth - 240);
  const y = Math.min(at.y, window.innerHeight - 40 * all.length - 16);
  return (
    <div className="ctx-menu" role="menu" aria-label={t('actions.menu')} ref={ref} style={{ left: Math.max(8, x), top: Math.max(8, y) }} onKeyDown={onKey} data-testid="message-menu">
      {all.map((i) => (
        <button
          key={i.key}
          type="button"
          role="menuitem"
          tabIndex={-1}
          data-action={i.key}
          onClick={() => {
            onClose();
            i.run();
          }}
        >
          {i.icon} {i.label}
        </button>
      ))}
    </div>
  );
}
