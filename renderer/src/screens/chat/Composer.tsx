/**
 * The message box: grows with the text, Enter sends, and counts down near the size limit so nothing fails after
 * sending. The unsent text is the conversation's draft: restored when the chat opens, saved (debounced) while typing
 * and once more when the chat closes, so switching chats or quitting loses nothing.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { SendHorizontal } from 'lucide-react';
import { textBudget } from '../../lib/text-limit.js';
import { useApp } from '../../state.js';

/** Typing pauses this long before the draft is written (a keystroke is not worth a database write). */
export const DRAFT_SAVE_DELAY_MS = 400;

export function Composer({
  username,
  onSend,
  onDraftSaved,
  group,
  attach,
}: {
  username: string;
  onSend: (text: string) => Promise<boolean>;
  onDraftSaved?: () => void;
  /** A group's conversation (then `username` is the group's name, for the label). */
  group?: `g:${string}`;
  /** The attach button, before the text box. */
  attach?: ReactNode;
}): ReactNode {
  const { bridge } = useApp();
  const conversation = group ?? (`d:${username}` as const);
  const [text, setText] = useState('');
  const pending = useRef<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const flushRef = useRef<() => void>(() => undefined);
  flushRef.current = () => {
    clearTimeout(timer.current);
    if (pending.current === null) return;
    const draft = pending.current;
    pending.current = null;
    bridge.saveDraft({ conversation, text: draft }).then(() => onDraftSaved?.(), () => undefined);
  };
  useEffect(() => {
    let live = true;
    bridge.getDraft({ conversation }).then(
      (d) => {
        // Only when nothing was typed meanwhile: what the user types wins over what was saved.
        if (live && d.text) setText((cur) => cur || d.text!);
      },
      () => undefined,
    );
    return () => {
      live = false;
      flushRef.current();
    };
  }, [bridge, conversation]);
  const edit = (v: string): void => {
    setText(v);
    pending.current = v;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => flushRef.current(), DRAFT_SAVE_DELAY_MS);
  };
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const { t } = useTranslation();
  const budget = textBudget(text);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight + 2}px`;
  }, [text]);
  useEffect(() => ref.current?.focus(), [username]);

  const submit = async (): Promise<void> => {
    const body = text.trim();
    if (!body || busy || budget.over) return;
    setBusy(true);
    const ok = await onSend(body);
    setBusy(false);
    if (ok) {
      setText('');
      pending.current = '';
      flushRef.current();
    }
    ref.current?.focus();
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {attach}
      <label htmlFor="composer" className="sr-only">
        {t('composer.label', { name: username })}
      </label>
      <textarea
        id="composer"
        ref={ref}
        rows={1}
        value={text}
        placeholder={t('composer.placeholder', { name: username })}
        onChange={(e) => edit(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void submit();
          }
        }}
        aria-describedby={budget.showCounter ? 'composer-hint composer-count' : 'composer-hint'}
        aria-invalid={budget.over ? 'true' : undefined}
      />
      <span id="composer-hint" className="sr-only">
        {t('composer.hint')}
      </span>
      {budget.showCounter && (
        <span id="composer-count" className={`composer-count ${budget.over ? 'over' : ''}`} data-testid="composer-count" aria-live="polite">
          {budget.over ? t('composer.over', { count: -budget.left }) : t('composer.left', { count: budget.left })}
        </span>
      )}
      <button type="submit" className="send" aria-label={t('composer.send')} disabled={!text.trim() || busy || budget.over}>
        <SendHorizontal size={18} aria-hidden />
      </button>
    </form>
  );
}
