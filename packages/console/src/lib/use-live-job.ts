/**
 * While a rotation request runs (it answers only when done), the job it works
 * on, polled from GET /v1/rotation for a progress bar. Best effort: a failed
 * poll is ignored, the rotation request itself reports failure.
 */
import { useEffect, useState } from 'preact/hooks';
import type { RotationJob } from '../api/api-types.js';
import type { LockboxApi } from '../api/lockbox-api.js';

const POLL_MS = 500;

export function useLiveJob(api: LockboxApi, running: boolean): RotationJob | null {
  const [live, setLive] = useState<RotationJob | null>(null);
  useEffect(() => {
    if (!running) {
      setLive(null);
      return;
    }
    let stopped = false;
    const poll = async () => {
      while (!stopped) {
        try {
          const { unfinished } = await api.rotation();
          if (!stopped && unfinished !== null) setLive(unfinished);
        } catch {
          // Progress is best effort; the rotation request itself reports failure.
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, [running, api]);
  return live;
}
