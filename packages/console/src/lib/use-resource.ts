/**
 * Loading data for a page: runs `load` on mount and whenever `deps` change, and
 * again on `reload()`. Changed deps clear the previous data; a reload keeps it
 * until the new answer arrives. Answers that arrive after a newer load started (or after
 * the page went away) are dropped, so a slow old answer never overwrites a new one.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api/api-error.js';
import { asApiError } from './use-guarded-action.js';

export interface Resource<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const loadedTick = useRef(tick);

  // The caller names what `load` depends on in `deps`.
  useEffect(() => {
    const run = ++latest.current;
    setLoading(true);
    // New deps mean other data (another scope, say): drop the old answer instead of
    // showing it under the new heading. A reload keeps it on screen until the new one arrives.
    if (loadedTick.current === tick) {
      setData(null);
      setError(null);
    }
    loadedTick.current = tick;
    load().then(
      (value) => {
        if (run !== latest.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (run !== latest.current) return;
        setError(asApiError(err));
        setLoading(false);
      },
    );
    return () => {
      // Unmounted or superseded: whatever arrives for this run is dropped.
      if (latest.current === run) latest.current++;
    };
  }, [...deps, tick]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}
