/** The dialogs of message actions: edit, delete (for me / for everyone), info, and deleting a whole conversation. */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { MessageInfo, MessageView } from '../../../../../electron/contract/api.js';
import { Dialog } from '../../../components/Dialog.js';
import { textBudget } from '../../../lib/text-limit.js';
import { useApp } from '../../../state.js';
import { canChange } from './types.js';

export function EditDialog({ m, onSave, onClose }: { m: MessageView; onSave: (text: string) => Promise<boolean>; onClose: () => void }): ReactNode {
  const { t } = useTranslation();
  const [text, setText] = useState(m.body ?? '');
  const [busy, setBusy] = useState(false);
  const budget = textBudget(text);
  const save = async (): Promise<void> => {
    if (!text.trim() || busy || budget.over) return;
    setBusy(true);
    if (await onSave(text.trim())) onClose();
    else setBusy(false);
  };
  return (
    <Dialog
      title={t('actions.editing')}
      onClose={onClose}
      testId="edit-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t('actions.cancel')}
          </button>
          <button type="button" className="btn primary" disabled={!text.trim() || busy || budget.over || text.trim() === m.body} onClick={() => void save()}>
            {t('actions.editSave')}
          </button>
        </>
      }
    >
      <label htmlFor="edit-text" className="sr-only">
        {t('actions.editing')}
      </label>
      <textarea
        id="edit-text"
        className="input"
        rows={4}
        value={text}
        data-autofocus
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            void save();
          }
        }}
        style={{ width: '100%', resize: 'vertical' }}
      />
    </Dialog>
  );
}

export function DeleteDialog({ m, onDelete, onClose }: { m: MessageView; onDelete: (everyone: boolean) => void; onClose: () => void }): ReactNode {
  const { t } = useTranslation();
  const everyone = canChange(m, Date.now());
  return (
    <Dialog
      title={t('actions.deleteTitle')}
      onClose={onClose}
      testId="delete-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t('actions.cancel')}
          </button>
          <button type="button" className="btn danger" data-autofocus onClick={() => onDelete(false)} data-testid="delete-for-me">
            {t('actions.deleteForMe')}
          </button>
          {everyone && (
            <button type="button" className="btn danger" onClick={() => onDelete(true)} data-testid="delete-for-everyone">
              {t('actions.deleteForEveryone')}
            </button>
          )}
        </>
      }
    >
      <p>{t('actions.deleteBody')}</p>
    </Dialog>
  );
}

export function DeleteConversationDialog({ name, onConfirm, onClose }: { name: string; onConfirm: () => void; onClose: () => void }): ReactNode {
  const { t } = useTranslation();
  return (
    <Dialog
      title={t('actions.deleteConversationTitle', { name })}
      onClose={onClose}
      testId="delete-conversation-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={onClose} data-autofocus>
            {t('actions.cancel')}
          </button>
          <button type="button" className="btn danger" onClick={onConfirm} data-testid="delete-conversation-confirm">
            {t('actions.deleteConversationConfirm')}
          </button>
        </>
      }
    >
      <p>{t('actions.deleteConversationBody')}</p>
    </Dialog>
  );
}

function when(ts: number | null, lang: string, never: string): string {
  return ts === null ? never : new Date(ts).toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function InfoDialog({ m, onClose }: { m: MessageView; onClose: () => void }): ReactNode {
  const { bridge, fail } = useApp();
  const { t, i18n } = useTranslation();
  const [info, setInfo] = useState<MessageInfo | null>(null);
  useEffect(() => {
    bridge.messageInfo({ id: m.id, conversation: m.conversation }).then(setInfo, (e: unknown) => {
      fail(e);
      onClose();
    });
  }, [bridge, m.id, m.conversation]);
  const never = t('actions.never');
  return (
    <Dialog title={t('actions.infoTitle')} onClose={onClose} testId="info-dialog" loading={!info} wide>
      {info && (
        <>
          <dl className="kv">
            <dt>{t('actions.sentAt')}</dt>
            <dd data-testid="info-sent">{when(info.message.sentAt, i18n.language, never)}</dd>
            {info.message.direction === 'in' && (
              <>
                <dt>{t('actions.receivedAt')}</dt>
                <dd>{when(info.message.receivedAt, i18n.language, never)}</dd>
              </>
            )}
          </dl>
          {info.message.direction === 'out' && (
            <table className="info-table" data-testid="info-receipts">
              <thead>
                <tr>
                  <th scope="col">{t('actions.member')}</th>
                  <th scope="col">{t('actions.deliveredAt')}</th>
                  <th scope="col">{t('actions.readAt')}</th>
                </tr>
              </thead>
              <tbody>
                {info.receipts.map((r) => (
                  <tr key={r.member} data-member={r.member}>
                    <th scope="row">{r.member}</th>
                    <td data-testid="info-delivered">{when(r.deliveredAt, i18n.language, never)}</td>
                    <td data-testid="info-read">{when(r.readAt, i18n.language, never)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {info.versions.length > 1 && (
            <>
              <h3 className="small">{t('actions.versions')}</h3>
              <ol className="versions" data-testid="info-versions">
                {info.versions.map((v) => (
                  <li key={v.ts}>
                    <time dateTime={new Date(v.ts).toISOString()}>{when(v.ts, i18n.language, never)}</time>: {v.body}
                  </li>
                ))}
              </ol>
            </>
          )}
        </>
      )}
    </Dialog>
  );
}
