/** The error every bridge call rejects with: a stable code and a message meant for logs; people see describeError. */
import type { ApiErrorShape } from '../../../electron/contract/api.js';
import { failureCode, reasonCode } from '../lib/failure.js';
import type { ErrorCode } from '../lib/failure.js';
import { t } from '../i18n/index.js';

export class ApiError extends Error implements ApiErrorShape {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static from(e: unknown): ApiError {
    if (e instanceof ApiError) return e;
    if (e && typeof e === 'object' && typeof (e as ApiErrorShape).code === 'string' && typeof (e as ApiErrorShape).message === 'string') {
      return new ApiError((e as ApiErrorShape).code, (e as ApiErrorShape).message);
    }
    if (e instanceof Error) return new ApiError('ERROR', e.message);
    return new ApiError('ERROR', 'Something went wrong.');
  }
}

/** What a person sees for a failure: a sentence (what happened, what to do) and the code for the "details" line. */
export interface Described {
  text: string;
  code: ErrorCode;
}

export function describeCode(code: ErrorCode): Described {
  return { text: t(`errors.${code}`), code };
}

/** For a thrown value (ApiError, Error). The internal message is never shown. */
export function describeError(e: unknown): Described {
  return describeCode(failureCode(e));
}

/** For a free-text reason from the core (a failed message, testRelay, the connection). */
export function describeReason(raw: string | null | undefined): Described {
  return describeCode(reasonCode(raw));
}

/** A one-line human message for any failure. */
export function errorText(e: unknown): string {
  return describeError(e).text;
}
