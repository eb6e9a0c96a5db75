/**
 * URLs in message text become links (no previews: fetching one would tell a third party what you read). A click
 * never navigates: it shows the full address and asks first (LinkDialog). Only http, https and mailto open; the main
 * process checks the scheme again before it hands the address to the browser (electron/main/links.ts).
 */
import { useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ExternalLink } from 'lucide-react';
import { Dialog } from '../../../components/Dialog.js';

/** A URL candidate: a scheme we show as a link, up to white space or characters that end one in prose. */
const URL_RE = /\b(?:https?:\/\/|mailto:)[^\s<>"'`]+/gi;
/** Punctuation that usually ends the sentence rather than the address. */
const TRAILING = /[.,!?;:)\]}>]+$/;

export type TextPart = { kind: 'text'; text: string } | { kind: 'link'; text: string };

/** Splits text into plain runs and link runs; concatenating every part's text gives back the input. */
export function splitLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // Keep a closing parenthesis that belongs to the address (…/Foo_(bar)).
    const cut = url.match(TRAILING)?.[0] ?? '';
    if (cut && !(cut.startsWith(')') && url.slice(0, -cut.length).includes('('))) url = url.slice(0, url.length - cut.length);
    const start = m.index ?? 0;
    if (url.replace(/^(?:https?:\/\/|mailto:)/i, '').length === 0) continue;
    if (start > last) parts.push({ kind: 'text', text: text.slice(last, start) });
    parts.push({ kind: 'link', text: url });
    last = start + url.length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

/** The schemes a message link may open with (the main process allows the same set). */
export function isOpenableLink(url: string): boolean {
  try {
    const u = new URL(url);
    if (u.protocol === 'mailto:') return true;
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Message text with its links; a click asks before anything opens. */
export function Linkified({ text }: { text: string }): ReactNode {
  const [asking, setAsking] = useState<string | null>(null);
  const parts = splitLinks(text);
  if (!parts.some((p) => p.kind === 'link')) return text;
  return (
    <>
      {parts.map((p, i) =>
        p.kind === 'text' ? (
          p.text
        ) : (
          <a
            key={i}
            href={p.text}
            className="msg-link"
            data-testid="message-link"
            onClick={(e) => {
              e.preventDefault();
              setAsking(p.text);
            }}
          >
            {p.text}
          </a>
        ),
      )}
      {asking && <LinkDialog url={asking} onClose={() => setAsking(null)} />}
    </>
  );
}

export function LinkDialog({ url, onClose }: { url: string; onClose: () => void }): ReactNode {
  const { t } = useTranslation();
  const ok = isOpenableLink(url);
  const open = (): void => {
    // Denied as a window by the main process, which opens it in the system browser after checking it again.
    window.open(url, '_blank', 'noopener,noreferrer');
    onClose();
  };
  return (
    <Dialog
      title={t('actions.linkTitle')}
      onClose={onClose}
      testId="link-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t('actions.cancel')}
          </button>
          {ok && (
            <button type="button" className="btn primary" onClick={open} data-autofocus>
              <ExternalLink size={16} aria-hidden /> {t('actions.linkOpen')}
            </button>
          )}
        </>
      }
    >
      <p>{ok ? t('actions.linkBody') : t('actions.linkRefused')}</p>
      <p className="link-address" data-testid="link-address">
        {url}
      </p>
    </Dialog>
  );
}
