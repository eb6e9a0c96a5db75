/**
 * URLs in message text become links (no previews: fetching one would tell a third party what you read). A click
 * never navigates: it shows the full address and asks first (LinkDialog). Only http, https and mailto open; the main
 * process checks the scheme again before it hands the address to the browser (electron/main/links.ts).
 */
import { useState } from 'react';
import { createPortal } from 'react-dom';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ExternalLink } from 'lucide-react';
import { Dialog } from '../../../components/Dialog.js';
import { isOpenableLink, splitLinks } from './links.js';

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
      {/* Outside the message row: rows are transformed, which would trap a fixed-position dialog inside them. */}
      {asking && createPortal(<LinkDialog url={asking} onClose={() => setAsking(null)} />, document.body)}
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
