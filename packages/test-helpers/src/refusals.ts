/**
 * Refusal assertions: a call fails with a LockboxError (of a given code), and
 * its message, details, stack and cause chain never contain a secret canary.
 * Each throws when the call succeeds, so a test built on them cannot pass by
 * accident.
 */
import { type ErrorCode, isLockboxError, type LockboxError } from '@lockbox/core';
import { expect } from 'vitest';

/** The LockboxError a call throws (fails the test if it succeeds or throws anything else). */
export function refusal(run: () => unknown): LockboxError {
  try {
    run();
  } catch (err) {
    if (isLockboxError(err)) return err;
    throw err;
  }
  throw new Error('expected a LockboxError, but the call succeeded');
}

/** The LockboxError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<LockboxError> {
  try {
    await promise;
  } catch (err) {
    if (isLockboxError(err)) return err;
    throw err;
  }
  throw new Error('expected a LockboxError, but the promise resolved');
}

function check(err: LockboxError, code: ErrorCode, secrets: readonly string[]): LockboxError {
  expect(err.code).toBe(code);
  let visible = `${err.message}\n${JSON.stringify(err.toJSON())}\n${String(err.stack)}`;
  // The cause chain is logged too (pino serialises it), so it must be clean as well.
  for (let cause: unknown = err.cause; cause !== undefined; ) {
    visible += `\n${cause instanceof Error ? `${cause.message}\n${String(cause.stack)}` : String(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  for (const secret of secrets) {
    if (secret.length > 0) expect(visible).not.toContain(secret);
  }
  return err;
}

export function expectError(
  fn: () => unknown,
  code: ErrorCode,
  secrets: readonly string[] = [],
): LockboxError {
  return check(refusal(fn), code, secrets);
}

export async function expectRejection(
  promise: Promise<unknown>,
  code: ErrorCode,
  secrets: readonly string[] = [],
): Promise<LockboxError> {
  return check(await rejection(promise), code, secrets);
}
