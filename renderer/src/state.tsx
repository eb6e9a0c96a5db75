/** App-wide context: the bridge, the latest AppState, and a small toast queue for errors and confirmations. */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import type { AppState, EventName, ParleyBridge, ParleyEvents } from '../../electron/contract/api.js';
import { ApiError, describeError } from './runtime/index.js';
import type { ErrorCode } from './lib/failure.js';
import { ErrorNote } from './components/ErrorNote.js';

export interface Toast {
  id: number;
  kind: 'info' | 'error';
  text: string;
  /** Errors: the code shown on the details line. */
  code?: ErrorCode;
}

interface Ctx {
  bridge: ParleyBridge;
  state: AppState;
  setState: (s: AppState) => void;
  refresh: () => Promise<void>;
  toast: (text: string, kind?: Toast['kind'], code?: ErrorCode) => void;
  fail: (e: unknown) => void;
}

const AppCtx = createContext<Ctx | null>(null);

export function useApp(): Ctx {
  const c = useContext(AppCtx);
  if (!c) throw new Error('useApp outside AppProvider');
  return c;
}

/** Subscribe to a bridge event for the lifetime of the component; the latest handler is always used. */
export function useEvent<E extends EventName>(event: E, handler: (p: ParleyEvents[E]) => void): void {
  const { bridge } = useApp();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => bridge.on(event, (p) => ref.current(p)), [bridge, event]);
}

export function AppProvider(props: { bridge: ParleyBridge; initial: AppState; linkLost?: boolean; children: ReactNode }): ReactNode {
  const { bridge } = props;
  const [state, setState] = useState<AppState>(props.initial);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);

  const toast = useCallback((text: string, kind: Toast['kind'] = 'info', code?: ErrorCode) => {
    const id = nextId.current++;
    setToasts((t) => [...t.slice(-2), { id, kind, text, code }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), kind === 'error' ? 6000 : 3500);
  }, []);
  const fail = useCallback(
    (e: unknown) => {
      // A lost link to the core has its own banner; calls that were in flight need no toast each.
      if (ApiError.from(e).code === 'BRIDGE_DOWN') return;
      const d = describeError(e);
      toast(d.text, 'error', d.code);
    },
    [toast],
  );
  const refresh = useCallback(async () => {
    setState(await bridge.getState());
  }, [bridge]);

  useEffect(() => bridge.on('state-changed', setState), [bridge]);
  useEffect(
    () => bridge.on('connection-changed', (connection) => setState((s) => ({ ...s, connection }))),
    [bridge],
  );

  // Theme: 'system' follows prefers-color-scheme through CSS; an explicit choice pins data-theme.
  useEffect(() => {
    const root = document.documentElement;
    if (state.settings.theme === 'system') root.removeAttribute('data-theme');
    else root.setAttribute('data-theme', state.settings.theme);
  }, [state.settings.theme]);

  // Without the core nothing reaches the relay either: every status shows Disconnected, never a stale Online.
  const shown = useMemo<AppState>(
    () => (props.linkLost ? { ...state, connection: { status: 'offline', relayUrl: state.connection.relayUrl, reason: 'BRIDGE_DOWN: no link to the core' } } : state),
    [state, props.linkLost],
  );
  const value = useMemo(() => ({ bridge, state: shown, setState, refresh, toast, fail }), [bridge, shown, refresh, toast, fail]);
  return (
    <AppCtx.Provider value={value}>
      {props.children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast ${t.kind}`} role={t.kind === 'error' ? 'alert' : undefined}>
            {t.code ? <ErrorNote error={{ text: t.text, code: t.code }} icon={false} /> : t.text}
          </div>
        ))}
      </div>
    </AppCtx.Provider>
  );
}
