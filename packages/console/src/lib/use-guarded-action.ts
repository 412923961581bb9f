/**
 * A Preact hook over SubmitGuard: runs an async action once at a time and tracks
 * whether it is busy and how its last run failed, for the form that started it.
 */
import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error.js';
import { SubmitGuard } from './submit-guard.js';

export interface GuardedAction<A extends unknown[]> {
  /** Starts the action unless one is running; errors land in `error`, never thrown. */
  run: (...args: A) => void;
  busy: boolean;
  error: ApiError | null;
  clearError: () => void;
}

/** Turns anything thrown into an ApiError, so forms show one kind of error. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'CLIENT', err instanceof Error ? err.message : String(err));
}

export function useGuardedAction<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): GuardedAction<A> {
  const guard = useRef(new SubmitGuard());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = (...args: A) => {
    // A run started while another is busy is dropped by the guard (it returns undefined).
    void guard.current.run(async () => {
      setBusy(true);
      setError(null);
      try {
        await action(...args);
      } catch (err) {
        setError(asApiError(err));
      } finally {
        setBusy(false);
      }
    });
  };
  return { run, busy, error, clearError: () => setError(null) };
}
