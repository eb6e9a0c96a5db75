/**
 * Files waiting to be sent in the open chat: added with the attach button (Electron: the main process's dialog;
 * elsewhere a file input), dropped onto the chat or pasted. Shows each file (local images as previews from memory)
 * with a remove button, an optional caption, and "Send": each file goes to the core in slices (progress bar, cancel),
 * then all of them leave as one message.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { FileText, Paperclip, SendHorizontal, X } from 'lucide-react';
import type { ConversationId, MessageView } from '../../../../../electron/contract/api.js';
import type { AttachmentPreview, StagedFile } from '../../../../../electron/contract/attachments.js';
import { MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_MESSAGE } from './limits.js';
import { useApp } from '../../../state.js';
import { formatSize, isInlineImageName, makeThumbnail, stageFile, StagingCancelled } from './files.js';

interface Item {
  id: number;
  name: string;
  size: number;
  /** A file from the renderer (file input, drop, paste) or one the main process staged from its dialog. */
  file?: File;
  staged?: StagedFile;
  /** Local preview of an image (blob: URL of the File itself). */
  url?: string;
}

export interface Tray {
  items: Item[];
  add: (files: Iterable<File>) => void;
  addStaged: (files: StagedFile[]) => void;
  remove: (id: number) => void;
  clear: () => void;
}

let nextId = 1;

export function useAttachmentTray(): Tray {
  const { toast } = useApp();
  const { t } = useTranslation();
  const [items, setItems] = useState<Item[]>([]);
  const itemsRef = useRef(items);
  itemsRef.current = items;
  useEffect(() => () => itemsRef.current.forEach((i) => i.url && URL.revokeObjectURL(i.url)), []);
  const push = useCallback(
    (more: Item[]) => {
      setItems((cur) => {
        const room = MAX_ATTACHMENTS_PER_MESSAGE - cur.length;
        if (more.length > room) toast(t('attach.tooMany', { count: MAX_ATTACHMENTS_PER_MESSAGE }));
        more.slice(room).forEach((i) => i.url && URL.revokeObjectURL(i.url));
        return [...cur, ...more.slice(0, Math.max(0, room))];
      });
    },
    [toast, t],
  );
  const add = useCallback(
    (files: Iterable<File>) => {
      const ok: Item[] = [];
      for (const f of files) {
        if (f.size > MAX_ATTACHMENT_BYTES) {
          toast(t('attach.tooLarge', { name: f.name }));
          continue;
        }
        ok.push({ id: nextId++, name: f.name || 'file', size: f.size, file: f, ...(isInlineImageName(f.name) ? { url: URL.createObjectURL(f) } : {}) });
      }
      push(ok);
    },
    [push, toast, t],
  );
  const addStaged = useCallback((files: StagedFile[]) => push(files.map((s) => ({ id: nextId++, name: s.name, size: s.size, staged: s }))), [push]);
  const remove = useCallback((id: number) => {
    setItems((cur) => {
      cur.filter((i) => i.id === id).forEach((i) => i.url && URL.revokeObjectURL(i.url));
      return cur.filter((i) => i.id !== id);
    });
  }, []);
  const clear = useCallback(() => {
    setItems((cur) => {
      cur.forEach((i) => i.url && URL.revokeObjectURL(i.url));
      return [];
    });
  }, []);
  return useMemo(() => ({ items, add, addStaged, remove, clear }), [items, add, addStaged, remove, clear]);
}

/** The paperclip: the main process's dialog where there is one, else a file input. */
export function AttachButton({ tray }: { tray: Tray }): ReactNode {
  const { bridge, fail } = useApp();
  const { t } = useTranslation();
  const input = useRef<HTMLInputElement>(null);
  const choose = (): void => {
    bridge.chooseAttachments().then((r) => {
      if (r.files === null) input.current?.click();
      else tray.addStaged(r.files);
    }, fail);
  };
  return (
    <>
      <button type="button" className="icon-btn attach" aria-label={t('attach.button')} title={t('attach.button')} onClick={choose} data-testid="attach-button">
        <Paperclip size={18} aria-hidden />
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="attach-input"
        onChange={(e) => {
          if (e.currentTarget.files) tray.add(e.currentTarget.files);
          e.currentTarget.value = '';
        }}
      />
    </>
  );
}

export function AttachmentTray({ tray, conversation, onSent }: { tray: Tray; conversation: ConversationId; onSent: (m: MessageView) => void }): ReactNode {
  const { bridge, fail } = useApp();
  const { t, i18n } = useTranslation();
  const [caption, setCaption] = useState('');
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const cancelled = useRef(false);
  if (tray.items.length === 0) return null;
  const total = tray.items.reduce((n, i) => n + (i.file ? i.size : 0), 0);

  const send = async (): Promise<void> => {
    cancelled.current = false;
    setProgress({ done: 0, total });
    const tokens: string[] = [];
    const thumbnails: Array<AttachmentPreview | null> = [];
    let before = 0;
    try {
      for (const item of tray.items) {
        if (item.staged) {
          tokens.push(item.staged.token);
          thumbnails.push(null);
          continue;
        }
        const f = item.file!;
        thumbnails.push(await makeThumbnail(f));
        const base = before;
        const staged = await stageFile(bridge, f, (done) => setProgress({ done: base + done, total }), () => cancelled.current);
        tokens.push(staged.token);
        before += f.size;
      }
      const m = await bridge.sendAttachments({ conversation, tokens, thumbnails, ...(caption.trim() ? { caption: caption.trim() } : {}) });
      tray.clear();
      setCaption('');
      onSent(m);
    } catch (e) {
      // What was staged for this attempt is dropped; files chosen in the dialog stay staged for the next try.
      const own = new Set(tray.items.filter((i) => i.staged).map((i) => i.staged!.token));
      for (const tk of tokens) if (!own.has(tk)) void bridge.discardStaged({ token: tk }).catch(() => undefined);
      if (!(e instanceof StagingCancelled)) fail(e);
    } finally {
      setProgress(null);
    }
  };

  const busy = progress !== null;
  return (
    <div className="attach-tray" role="region" aria-label={t('attach.tray')} data-testid="attach-tray">
      <ul className="attach-items">
        {tray.items.map((i) => (
          <li key={i.id} className="attach-item" data-testid="attach-item">
            {i.url ? <img src={i.url} alt="" className="attach-thumb" /> : <FileText size={28} aria-hidden />}
            <span className="attach-name" title={i.name}>
              {i.name}
            </span>
            <span className="muted small">{formatSize(i.size, i18n.language)}</span>
            <button type="button" className="icon-btn small" aria-label={t('attach.remove', { name: i.name })} onClick={() => tray.remove(i.id)} disabled={busy}>
              <X size={14} aria-hidden />
            </button>
          </li>
        ))}
      </ul>
      <form
        className="attach-send"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy) void send();
        }}
      >
        <label htmlFor="attach-caption" className="sr-only">
          {t('attach.caption')}
        </label>
        <input id="attach-caption" className="input" value={caption} placeholder={t('attach.caption')} onChange={(e) => setCaption(e.target.value)} disabled={busy} maxLength={4000} data-testid="attach-caption" />
        {busy ? (
          <>
            <progress max={progress.total || 1} value={progress.done} aria-label={t('attach.preparing')} data-testid="attach-progress" />
            <button type="button" className="btn" onClick={() => (cancelled.current = true)}>
              {t('attach.cancel')}
            </button>
          </>
        ) : (
          <button type="submit" className="btn primary" data-testid="attach-send">
            <SendHorizontal size={16} aria-hidden /> {t('attach.send', { count: tray.items.length })}
          </button>
        )}
      </form>
    </div>
  );
}
