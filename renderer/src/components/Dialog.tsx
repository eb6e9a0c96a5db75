/**
 * Modal dialog: labelled, focus moves in on open and back on close, Esc closes, Tab stays inside. A dialog whose
 * content loads after it opens passes `loading`: once loaded, focus moves to its [data-autofocus] control, unless
 * the person has already moved focus themselves.
 */
import { useEffect, useId, useRef } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { X } from 'lucide-react';

export function Dialog(p: { title: string; onClose: () => void; children: ReactNode; footer?: ReactNode; wide?: boolean; testId?: string; loading?: boolean }): ReactNode {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const openingFocus = useRef<HTMLElement | null>(null);
  const onClose = useRef(p.onClose);
  onClose.current = p.onClose;

  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = el?.querySelector<HTMLElement>('[data-autofocus]') ?? el?.querySelector<HTMLElement>('button, input, textarea, select, [tabindex]');
    first?.focus();
    openingFocus.current = first ?? null;
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') {
        e.preventDefault();
        onClose.current();
      } else if (e.key === 'Tab' && el) {
        const items = [...el.querySelectorAll<HTMLElement>('button:not(:disabled), input:not(:disabled), textarea, select, a[href], [tabindex]:not([tabindex="-1"])')];
        if (items.length === 0) return;
        const firstI = items[0]!;
        const lastI = items[items.length - 1]!;
        if (e.shiftKey && document.activeElement === firstI) {
          e.preventDefault();
          lastI.focus();
        } else if (!e.shiftKey && document.activeElement === lastI) {
          e.preventDefault();
          firstI.focus();
        }
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, []);

  useEffect(() => {
    const el = ref.current;
    if (p.loading || !el) return;
    const target = el.querySelector<HTMLElement>('[data-autofocus]');
    const active = document.activeElement;
    const untouched = active === openingFocus.current || active === document.body || !el.contains(active);
    if (target && untouched) target.focus();
  }, [p.loading]);

  return (
    <div className="scrim" onMouseDown={(e) => e.target === e.currentTarget && p.onClose()}>
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref} style={p.wide ? { maxWidth: 600 } : undefined} data-testid={p.testId}>
        <header>
          <h2 id={titleId}>{p.title}</h2>
          <button type="button" className="icon-btn" onClick={p.onClose} aria-label={t('common.close')}>
            <X size={18} aria-hidden />
          </button>
        </header>
        <div className="content">{p.children}</div>
        {p.footer && <footer>{p.footer}</footer>}
      </div>
    </div>
  );
}
