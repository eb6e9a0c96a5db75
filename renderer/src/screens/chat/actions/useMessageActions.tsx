/**
 * The chat's side of message actions: what a bubble's toolbar, menu, quote and reactions call, the reply being
 * composed, and the dialogs (edit, delete, info, delete conversation). Works for any conversation id; the chat hands
 * it how to update its timeline.
 */
import { useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { X } from 'lucide-react';
import type { ConversationId, MessageView } from '../../../../../electron/contract/api.js';
import { copyText } from '../../../lib/clipboard.js';
import { useApp } from '../../../state.js';
import { DeleteConversationDialog, DeleteDialog, EditDialog, InfoDialog } from './dialogs.js';
import { MessageMenu } from './MessageToolbar.js';
import type { MessageActionHandlers } from './types.js';

type Open =
  | { kind: 'edit' | 'delete' | 'info'; m: MessageView }
  | { kind: 'menu'; m: MessageView; at: { x: number; y: number } }
  | { kind: 'delete-conversation' }
  | null;

export interface ChatActions {
  handlers: MessageActionHandlers & { onMenu(m: MessageView, at: { x: number; y: number }): void };
  replyTo: MessageView | null;
  clearReply(): void;
  /** The reply bar above the composer (null when not replying). */
  replyBar: ReactNode;
  dialogs: ReactNode;
  askDeleteConversation(): void;
}

export function useMessageActions(o: {
  conversation: ConversationId;
  name: string;
  onUpdated: (m: MessageView) => void;
  /** The timeline must be loaded again (a message or the conversation was deleted on this device). */
  onReload: () => void;
  onJump: (id: string) => void;
}): ChatActions {
  const { bridge, state, fail, toast } = useApp();
  const { t } = useTranslation();
  const me = state.profile?.username ?? '';
  const [open, setOpen] = useState<Open>(null);
  const [replyTo, setReplyTo] = useState<MessageView | null>(null);
  const latest = useRef(o);
  latest.current = o;

  const handlers = useMemo<ChatActions['handlers']>(
    () => ({
      me,
      onReply: (m) => {
        setReplyTo(m);
        document.getElementById('composer')?.focus();
      },
      onReact: (m, emoji) => {
        bridge.reactToMessage({ id: m.id, emoji, conversation: m.conversation }).then((v) => latest.current.onUpdated(v), fail);
      },
      onEdit: (m) => setOpen({ kind: 'edit', m }),
      onDelete: (m) => setOpen({ kind: 'delete', m }),
      onInfo: (m) => setOpen({ kind: 'info', m }),
      onCopy: (m) => {
        if (m.body !== null) copyText(m.body).then(() => toast(t('actions.copied')), fail);
      },
      onJump: (id) => latest.current.onJump(id),
      onMenu: (m, at) => setOpen({ kind: 'menu', m, at }),
    }),
    [bridge, me, fail, toast, t],
  );

  const close = (): void => setOpen(null);
  const remove = (m: MessageView, everyone: boolean): void => {
    setOpen(null);
    bridge.deleteMessage({ id: m.id, everyone, conversation: m.conversation }).then(() => {
      if (everyone) o.onUpdated({ ...m, body: null, deleted: true, reactions: {}, replyTo: null, edited: false });
      else o.onReload();
      if (replyTo?.id === m.id) setReplyTo(null);
    }, fail);
  };

  let dialogs: ReactNode = null;
  if (open?.kind === 'menu') dialogs = <MessageMenu m={open.m} h={handlers} at={open.at} onClose={close} />;
  if (open?.kind === 'edit') {
    const m = open.m;
    dialogs = (
      <EditDialog
        m={m}
        onClose={close}
        onSave={(text) =>
          bridge.editMessage({ id: m.id, text, conversation: m.conversation }).then(
            (v) => {
              o.onUpdated(v);
              return true;
            },
            (e: unknown) => {
              fail(e);
              return false;
            },
          )
        }
      />
    );
  }
  if (open?.kind === 'delete') dialogs = <DeleteDialog m={open.m} onClose={close} onDelete={(everyone) => remove(open.m, everyone)} />;
  if (open?.kind === 'info') dialogs = <InfoDialog m={open.m} onClose={close} />;
  if (open?.kind === 'delete-conversation') {
    dialogs = (
      <DeleteConversationDialog
        name={o.name}
        onClose={close}
        onConfirm={() => {
          setOpen(null);
          bridge.deleteConversation({ conversation: o.conversation }).then(() => o.onReload(), fail);
        }}
      />
    );
  }

  const replyBar = replyTo ? (
    <div className="reply-bar" data-testid="reply-bar" role="status">
      <div className="quote-inline">
        <strong>{t('actions.replyingTo', { name: replyTo.direction === 'out' ? t('actions.you') : (replyTo.sender ?? o.name) })}</strong>
        <span className="quote-text">{replyTo.body}</span>
      </div>
      <button type="button" className="icon-btn sm" aria-label={t('actions.cancelReply')} onClick={() => setReplyTo(null)}>
        <X size={16} aria-hidden />
      </button>
    </div>
  ) : null;

  return { handlers, replyTo, clearReply: () => setReplyTo(null), replyBar, dialogs, askDeleteConversation: () => setOpen({ kind: 'delete-conversation' }) };
}
