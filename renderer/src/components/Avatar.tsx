import type { ReactNode } from 'react';
import { avatarColor, initials } from '../lib/format.js';

export function Avatar(p: { name: string; fingerprint: string; size?: 'sm' | 'lg' }): ReactNode {
  return (
    <span className={`avatar ${p.size ?? ''}`} style={{ background: avatarColor(p.fingerprint) }} aria-hidden>
      {initials(p.name)}
    </span>
  );
}
