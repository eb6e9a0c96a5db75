/** "Delivered to 3 of 5" under one of our group messages, and the details: each member with their state. */
import { useCallback, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Check, CheckCheck, CircleAlert, Clock, KeyRound } from 'lucide-react';
import type { GroupDeliveries, GroupDeliveryState } from '../../../../electron/contract/api.js';
import { Avatar } from '../../components/Avatar.js';
import { Dialog } from '../../components/Dialog.js';
import { useApp, useEvent } from '../../state.js';

const ICON: Record<GroupDeliveryState, ReactNode> = {
  sending: <Clock size={14} aria-hidden />,
  sent: <Check size={14} aria-hidden />,
  delivered: <CheckCheck size={14} aria-hidden className="delivered" />,
  failed: <CircleAlert size={14} aria-hidden />,
  held: <KeyRound size={14} aria-hidden />,
};

const STATE_KEY: Record<GroupDeliveryState, string> = {
  sending: 'group.deliverySending',
  sent: 'group.deliverySent',
  delivered: 'group.deliveryDelivered',
  failed: 'group.deliveryFailed',
  held: 'group.deliveryHeld',
};

export function DeliveryLine(p: { id: string; group: string }): ReactNode {
  const { bridge } = useApp();
  const { t } = useTranslation();
  const [d, setD] = useState<GroupDeliveries | null>(null);
  const [open, setOpen] = useState(false);
  const load = useCallback(() => {
    // A message nobody else was sent to (we are alone in the group) has no deliveries: nothing to show.
    bridge.groupDeliveries({ id: p.id }).then(setD, () => setD(null));
  }, [bridge, p.id]);
  useEffect(load, [load]);
  useEvent('group-delivery', (e) => e.id === p.id && load());
  // A read receipt updates the message (its read time), not its delivery.
  useEvent('message-updated', (m) => m.id === p.id && m.direction === 'out' && load());
  if (!d || d.total === 0) return null;
  return (
    <>
      <button type="button" className="link delivery-line" onClick={() => setOpen(true)} data-testid="delivery-summary" aria-haspopup="dialog">
        {t('group.deliveredTo', { delivered: d.delivered, total: d.total })}
      </button>
      {(d.read ?? 0) > 0 && (
        <button type="button" className="link delivery-line" onClick={() => setOpen(true)} data-testid="read-summary" aria-haspopup="dialog">
          {t('group.readBy', { read: d.read, total: d.total })}
        </button>
      )}
      {open && (
        <Dialog title={t('group.deliveryTitle')} onClose={() => setOpen(false)} testId="delivery-details">
          <ul className="member-list" aria-label={t('group.deliveryTitle')}>
            {d.members.map((m) => (
              <li key={m.username} className="member" data-testid="delivery-member" data-state={m.state} data-read={m.read === true}>
                <Avatar name={m.username} size="sm" />
                <span className="member-name">{m.username}</span>
                <span className={`pill ${m.state === 'delivered' ? 'ok' : m.state === 'failed' ? 'warn' : 'no'}`}>
                  {ICON[m.state]} {t(STATE_KEY[m.state])}
                </span>
                {m.read && (
                  <span className="pill ok" data-testid="delivery-read">
                    <CheckCheck size={14} aria-hidden className="read" /> {t('group.deliveryRead')}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </Dialog>
      )}
    </>
  );
}
