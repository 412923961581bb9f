/** Test helper: the LockboxError a call throws (fails the test if it succeeds or throws anything else). */
import { LockboxError } from '../../src/errors.js';

export function refusal(run: () => unknown): LockboxError {
  try {
    run();
  } catch (err) {
    if (err instanceof LockboxError) return err;
    throw err;
  }
  throw new Error('expected a LockboxError, but the call succeeded');
}
