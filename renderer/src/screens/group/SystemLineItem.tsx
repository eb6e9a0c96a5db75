/** A group timeline line ("alice added carol", "bob left", a refused change) in the user's language. */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ShieldAlert, Users } from 'lucide-react';
import { systemLine } from './system-line.js';

export function SystemLineItem(p: { text: string; refused: boolean }): ReactNode {
  const { t } = useTranslation();
  const line = systemLine(p.text);
  const text = line ? t(line.key, line.values) : p.text;
  return (
    <div className={`sysline group-line ${p.refused ? 'refused' : ''}`} role="listitem" data-testid="group-line" data-kind={p.refused ? 'refused' : 'change'}>
      <span>
        {p.refused ? <ShieldAlert size={13} aria-hidden /> : <Users size={13} aria-hidden />} {text}
      </span>
    </div>
  );
}
