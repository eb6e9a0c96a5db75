/**
 * The one place the UI gets its ParleyBridge from. In Electron the preload provides window.parley; in a browser
 * (development and the Playwright tests) the local bridge host does, authenticated by the token in the URL fragment.
 * Nothing else in the renderer knows which runtime it is in.
 */
import type { ParleyBridge } from '../../../electron/contract/api.js';
import { browserBridge, readToken } from './browser.js';
import type { BridgeLinkStatus } from './browser.js';
import { electronBridge } from './electron.js';

export type { BridgeLinkStatus };
export { ApiError, describeCode, describeError, describeReason, errorText } from './errors.js';
export type { Described } from './errors.js';

export type Runtime =
  | { kind: 'electron'; bridge: ParleyBridge }
  | { kind: 'browser'; bridge: ParleyBridge }
  | { kind: 'none'; reason: string };

const linkListeners = new Set<(s: BridgeLinkStatus) => void>();
let linkStatus: BridgeLinkStatus = 'open';

export function onBridgeLink(l: (s: BridgeLinkStatus) => void): () => void {
  linkListeners.add(l);
  l(linkStatus);
  return () => {
    linkListeners.delete(l);
  };
}

export function createRuntime(): Runtime {
  if (window.parley) return { kind: 'electron', bridge: electronBridge(window.parley) };
  const token = readToken();
  if (!token) return { kind: 'none', reason: 'Open Parley from the app, or from the link the development bridge prints.' };
  const bridge = browserBridge(token, (s) => {
    linkStatus = s;
    for (const l of linkListeners) l(s);
  });
  return { kind: 'browser', bridge };
}
