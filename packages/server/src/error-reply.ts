/**
 * Turning any thrown error into the API's error body `{ error: { code, message } }`.
 *
 * LockboxErrors keep their code and message (the catalogue promises those name
 * scopes, names and fingerprints but never a key or a value). Fastify's own
 * request errors become REQUEST_INVALID / REQUEST_TOO_LARGE with a message that
 * does not echo the body (a JSON parse error can quote the bytes it choked on,
 * which may be a secret). Anything else is INTERNAL with a generic message; the
 * detail goes to the server log only. No stack trace ever reaches a response.
 */
import { type ErrorCode, isLockboxError } from '@lockbox/core';
import type { FastifyError } from 'fastify';
import { statusFor } from './error-status.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export interface DescribedError {
  status: number;
  body: ErrorBody;
  /** True when the cause is unexpected and belongs in the error log. */
  unexpected: boolean;
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

const GENERIC_INTERNAL =
  'internal error; the server log has the details (search for the request id)';

function isFastifyError(err: unknown): err is FastifyError {
  return (
    err instanceof Error &&
    typeof (err as Partial<FastifyError>).code === 'string' &&
    (err as FastifyError).code.startsWith('FST_')
  );
}

export function describeError(err: unknown): DescribedError {
  if (isLockboxError(err)) {
    const status = statusFor(err.code);
    const message = err.code === 'INTERNAL' ? GENERIC_INTERNAL : err.message;
    return { status, body: errorBody(err.code, message), unexpected: err.code === 'INTERNAL' };
  }
  if (isFastifyError(err)) {
    if (err.validation !== undefined) {
      // Ajv messages name the field and the rule broken, never the offending value.
      return { status: 400, body: errorBody('REQUEST_INVALID', err.message), unexpected: false };
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return {
        status: 413,
        body: errorBody('REQUEST_TOO_LARGE', 'the request body is larger than the limit'),
        unexpected: false,
      };
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return {
        status: 400,
        body: errorBody('REQUEST_INVALID', `the request was rejected (${err.code})`),
        unexpected: false,
      };
    }
  }
  return { status: 500, body: errorBody('INTERNAL', GENERIC_INTERNAL), unexpected: true };
}
