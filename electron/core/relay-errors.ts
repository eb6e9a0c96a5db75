/** Maps transport failures to the core's typed errors (CoreError codes the UI and CLI explain). */
import { CoreError } from './messenger/errors.js';
import { TransportError } from './transport/errors.js';
import { SESSION_REPLACED_MESSAGE } from './transport/relay-client.js';

export function toCoreError(err: unknown): Error {
    if (err instanceof CoreError) return err;
    if (err instanceof TransportError) {
      if (err.code === 'RELAY_CHANGED') return new CoreError('RELAY_CHANGED', err.message, { cause: err });
      if (err.code === 'OFFLINE' || err.code === 'TIMEOUT') return new CoreError('OFFLINE', err.message, { cause: err });
      if (err.code === 'SESSION_REPLACED') return new CoreError('OFFLINE', SESSION_REPLACED_MESSAGE, { cause: err });
      return new CoreError('RELAY', `${err.message} (${err.code})`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
}
