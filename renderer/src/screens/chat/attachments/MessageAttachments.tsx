/**
 * The files of one message inside its bubble. Images show inline (the sender's thumbnail, or the image itself once
 * downloaded; small received images download by themselves per the auto-download setting) and open a full view on
 * click. Other files show name, type and size with "Save" and "Open" (Open warns first for executable types).
 * Running transfers show a progress bar with cancel. Images are shown from memory (blob: URLs, revoked when unused).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { CircleAlert, Download, ExternalLink, FileText, Image as ImageIcon, X } from 'lucide-react';
import type { AttachmentView, MessageView } from '../../../../../electron/contract/api.js';
import { Dialog } from '../../../components/Dialog.js';
import { useApp, useEvent } from '../../../state.js';
import { formatSize, imageUrl, isInlineImageType } from './files.js';

type Progress = { direction: 'upload' | 'download'; done: number; total: number } | null;

/** This attachment's running transfer, from the core's progress events. */
function useProgress(messageId: string, index: number): [Progress, (p: Progress) => void] {
  const [p, setP] = useState<Progress>(null);
  useEvent('attachment-progress', (e) => {
    if (e.messageId !== messageId || e.index !== index) return;
    setP(e.done >= e.total ? null : { direction: e.direction, done: e.done, total: e.total });
  });
  return [p, setP];
}

function ProgressBar({ p, name, onCancel }: { p: NonNullable<Progress>; name: string; onCancel: () => void }): ReactNode {
  const { t } = useTranslation();
  const label = t(p.direction === 'upload' ? 'attach.uploading' : 'attach.downloading', { name });
  return (
    <div className="att-progress" data-testid="attachment-progress" data-direction={p.direction}>
      <progress max={p.total} value={p.done} aria-label={label} />
      <button type="button" className="icon-btn small" aria-label={t('attach.cancelTransfer', { name })} onClick={onCancel}>
        <X size={14} aria-hidden />
      </button>
    </div>
  );
}

export function MessageAttachments({ m }: { m: MessageView }): ReactNode {
  return (
    <div className="attachments">
      {(m.attachments ?? []).map((a) =>
        isInlineImageType(a.type) ? <ImageAttachment key={a.index} m={m} a={a} /> : <FileAttachment key={a.index} m={m} a={a} />,
      )}
    </div>
  );
}

function useBlobUrl(): [string | null, (u: string | null) => void] {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => () => void (url && URL.revokeObjectURL(url)), [url]);
  return [url, setUrl];
}

function ImageAttachment({ m, a }: { m: MessageView; a: AttachmentView }): ReactNode {
  const { bridge, state, fail } = useApp();
  const { t, i18n } = useTranslation();
  const thumbUrl = useMemo(() => (a.thumbnail ? imageUrl(a.thumbnail, 'image/jpeg') : null), [a.thumbnail]);
  useEffect(() => () => void (thumbUrl && URL.revokeObjectURL(thumbUrl)), [thumbUrl]);
  const [full, setFull] = useBlobUrl();
  const [viewing, setViewing] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(a.state === 'failed' ? (a.error ?? '') : null);
  const [progress, setProgress] = useProgress(m.id, a.index);
  const s = state.settings;
  const auto = m.direction === 'in' && s.autoDownloadImages && a.size <= s.autoDownloadMaxBytes && a.state !== 'failed';

  const load = (): void => {
    if (full || loading) return;
    setLoading(true);
    bridge
      .readAttachment({ messageId: m.id, index: a.index })
      .then(
        (r) => setFull(imageUrl(r.data, r.type)),
        (e: unknown) => {
          if ((e as { code?: string }).code === 'CANCELLED') return;
          setError((e as { message?: string }).message ?? '');
          fail(e);
        },
      )
      .finally(() => {
        setLoading(false);
        setProgress(null);
      });
  };
  // Once, when the message first shows: small received images download by themselves.
  const first = useRef(true);
  useEffect(() => {
    if (!first.current) return;
    first.current = false;
    if (auto) load();
  });

  const src = full ?? thumbUrl;
  const box = a.width && a.height ? fit(a.width, a.height) : { width: 200, height: 150 };
  return (
    <figure className="att-image" data-testid="attachment" data-kind="image" data-loaded={full ? 'full' : thumbUrl ? 'thumb' : 'none'}>
      <button
        type="button"
        className="att-image-btn"
        aria-label={t('attach.viewImage', { name: a.name })}
        onClick={() => {
          setViewing(true);
          load();
        }}
        style={{ width: box.width, height: box.height }}
      >
        {src ? <img src={src} alt={a.name} width={box.width} height={box.height} data-testid="attachment-image" /> : <ImageIcon size={32} aria-hidden />}
      </button>
      <figcaption className="muted small">
        {a.name} · {formatSize(a.size, i18n.language)}
        {error !== null && (
          <span className="att-error" role="alert">
            <CircleAlert size={12} aria-hidden /> {t('attach.failed')}
          </span>
        )}
      </figcaption>
      {progress && <ProgressBar p={progress} name={a.name} onCancel={() => void bridge.cancelAttachment({ messageId: m.id, index: a.index }).catch(fail)} />}
      {viewing &&
        // Into <body>: the message rows are transformed (virtual list), which would trap a fixed-position dialog.
        createPortal(
        <Dialog title={a.name} onClose={() => setViewing(false)} wide testId="image-viewer" loading={!full} footer={<SaveButton m={m} a={a} />}>
          <div className="image-viewer">
            {full ? <img src={full} alt={a.name} data-testid="image-full" /> : <p className="muted">{t('attach.loadingImage')}</p>}
          </div>
        </Dialog>,
        document.body,
      )}
    </figure>
  );
}

/** The size an image shows at in the chat: at most 260×260, aspect kept. */
function fit(w: number, h: number): { width: number; height: number } {
  const scale = Math.min(1, 260 / Math.max(w, h));
  return { width: Math.max(24, Math.round(w * scale)), height: Math.max(24, Math.round(h * scale)) };
}

function SaveButton({ m, a }: { m: MessageView; a: AttachmentView }): ReactNode {
  const { bridge, fail, toast } = useApp();
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="btn"
      disabled={busy}
      data-testid="attachment-save"
      aria-label={t('attach.saveNamed', { name: a.name })}
      onClick={() => {
        setBusy(true);
        bridge
          .saveAttachment({ messageId: m.id, index: a.index })
          .then((r) => r.saved && toast(t('attach.saved', { name: a.name })), (e: unknown) => (e as { code?: string }).code !== 'CANCELLED' && fail(e))
          .finally(() => setBusy(false));
      }}
    >
      <Download size={16} aria-hidden /> {t('attach.save')}
    </button>
  );
}

function FileAttachment({ m, a }: { m: MessageView; a: AttachmentView }): ReactNode {
  const { bridge, fail } = useApp();
  const { t, i18n } = useTranslation();
  const [progress] = useProgress(m.id, a.index);
  const [warn, setWarn] = useState(false);
  const open = (confirmed: boolean): void => {
    bridge.openAttachment({ messageId: m.id, index: a.index, ...(confirmed ? { confirmed } : {}) }).then((r) => {
      if (r.warning === 'executable') setWarn(true);
    }, fail);
  };
  return (
    <div className="att-file" data-testid="attachment" data-kind="file">
      <FileText size={28} aria-hidden />
      <div className="att-file-text">
        <span className="att-name" title={a.name}>
          {a.name}
        </span>
        <span className="muted small">
          {a.type} · {formatSize(a.size, i18n.language)}
        </span>
        {a.state === 'failed' && (
          <span className="att-error small">
            <CircleAlert size={12} aria-hidden /> {t('attach.failed')}
          </span>
        )}
        {progress && <ProgressBar p={progress} name={a.name} onCancel={() => void bridge.cancelAttachment({ messageId: m.id, index: a.index }).catch(fail)} />}
      </div>
      <div className="att-actions">
        <SaveButton m={m} a={a} />
        <button type="button" className="icon-btn" aria-label={t('attach.openNamed', { name: a.name })} title={t('attach.open')} onClick={() => open(false)}>
          <ExternalLink size={16} aria-hidden />
        </button>
      </div>
      {warn &&
        createPortal(
        <Dialog
          title={t('attach.execTitle')}
          onClose={() => setWarn(false)}
          testId="exec-warning"
          footer={
            <>
              <button type="button" className="btn" data-autofocus onClick={() => setWarn(false)}>
                {t('attach.execKeep')}
              </button>
              <button
                type="button"
                className="btn danger"
                onClick={() => {
                  setWarn(false);
                  open(true);
                }}
              >
                {t('attach.execOpen')}
              </button>
            </>
          }
        >
          <p>{t('attach.execBody', { name: a.name })}</p>
        </Dialog>,
        document.body,
      )}
    </div>
  );
}
