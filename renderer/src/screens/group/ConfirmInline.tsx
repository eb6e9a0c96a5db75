/**
 * A confirmation inside the members panel (a dialog already: a second modal on top would fight it for Esc and
 * focus). Says what will happen, then a danger button and Cancel; focus moves to Cancel so Enter never removes
 * anyone by accident.
 */
import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

export function ConfirmInline(p: { text: string; confirmLabel: string; busy: boolean; onConfirm: () => void; onCancel: () => void; testId: string }): ReactNode {
  const { t } = useTranslation();
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <div className="card confirm-inline" role="group" aria-label={p.confirmLabel} data-testid={p.testId}>
      <p>{p.text}</p>
      <div className="row-actions">
        <button type="button" className="btn danger" disabled={p.busy} onClick={p.onConfirm} data-testid={`${p.testId}-yes`}>
          {p.confirmLabel}
        </button>
        <button type="button" className="btn" ref={cancel} onClick={p.onCancel} data-testid={`${p.testId}-no`}>
          {t('common.cancel')}
        </button>
      </div>
    </div>
  );
}
