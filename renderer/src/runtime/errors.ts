/** The error every bridge call rejects with: a stable code and a message meant for people. */
import type { ApiErrorShape } from '../../../electron/contract/api.js';

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

/** A one-line human message for any failure. */
export function errorText(e: unknown): string {
  return ApiError.from(e).message;
}
