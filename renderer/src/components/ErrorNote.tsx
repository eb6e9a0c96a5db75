import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { CircleAlert } from 'lucide-react';
import type { Described } from '../runtime/errors.js';

/** A failure in words, with the stable code only on a small "details" line (for support, never the raw text). */
export function ErrorNote({ error, id, icon = true }: { error: Described; id?: string; icon?: boolean }): ReactNode {
  const { t } = useTranslation();
  return (
    <span className="error-note" id={id} data-testid="error-note" data-code={error.code}>
      <span className="error-text">
        {icon && <CircleAlert size={16} aria-hidden />} {t(`errors.${error.code}`)}
      </span>
      <small className="error-details">{t('error.details', { code: error.code })}</small>
    </span>
  );
}
