import type { ReactNode } from 'react';
import { Users } from 'lucide-react';
import { avatarColor } from '../../lib/format.js';

/** A group glyph on a colour that belongs to the group (its id), not to its name or members. */
export function GroupAvatar(p: { name: string; id: string; size?: 'sm' | 'lg' }): ReactNode {
  return (
    <span className={`avatar ${p.size ?? ''}`} style={{ background: avatarColor(p.id) }} aria-hidden>
      <Users size={p.size === 'lg' ? 24 : 18} />
    </span>
  );
}
