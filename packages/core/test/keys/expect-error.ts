/**
 * Assertions shared by the key tests: a call fails with a given LockboxError
 * code, and its message, details and JSON form never contain a secret canary.
 */
import { expect } from 'vitest';
import { type ErrorCode, isLockboxError, type LockboxError } from '../../src/errors.js';

function check(err: unknown, code: ErrorCode, secrets: readonly string[]): LockboxError {
  if (!isLockboxError(err)) throw new Error(`expected a LockboxError ${code}, got ${String(err)}`);
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
  try {
    fn();
  } catch (err) {
    return check(err, code, secrets);
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

export async function expectRejection(
  promise: Promise<unknown>,
  code: ErrorCode,
  secrets: readonly string[] = [],
): Promise<LockboxError> {
  try {
    await promise;
  } catch (err) {
    return check(err, code, secrets);
  }
  throw new Error(`expected ${code}, but the promise resolved`);
}
