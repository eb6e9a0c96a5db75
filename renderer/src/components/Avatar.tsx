import type { ReactNode } from 'react';
import { avatarColor, initials } from '../lib/format.js';

/** Initials on a colour that belongs to the username (not to the key). */
export function Avatar(p: { name: string; size?: 'sm' | 'lg' }): ReactNode {
  return (
    <span className={`avatar ${p.size ?? ''}`} style={{ background: avatarColor(p.name) }} aria-hidden>
      {initials(p.name)}
    </span>
  );
}
