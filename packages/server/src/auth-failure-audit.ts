/**
 * Audit entries for unauthenticated failures, bounded per window.
 *
 * A missing or invalid token is audited as a `denied` entry of the route's action
 * — but only the first `perWindow` failures of each window (from all clients
 * together). Beyond that they are counted, and one `auth.failed` entry per window
 * records how many were not listed, by code. A flood from any number of source
 * addresses therefore adds at most perWindow + 1 entries per window to the log,
 * however long it lasts. The summary is written when the next failure arrives
 * after its window, on the server's interval, and on shutdown.
 */
import type { ServerLockbox } from './server-context.js';

export interface AuthFailureAuditOptions {
  /** Failures audited one by one per window (default 10). */
  perWindow?: number;
  /** Window length in milliseconds (default 60 000, the rate limit's). */
  windowMs?: number;
}

interface Window {
  from: number;
  until: number;
  listed: number;
  /** Failures not listed one by one, by error code. */
  unlisted: Record<string, number>;
}

export class AuthFailureAudit {
  readonly perWindow: number;
  readonly windowMs: number;
  readonly #now: () => number;
  #window: Window | undefined;

  constructor(options: AuthFailureAuditOptions = {}, now: () => number = Date.now) {
    this.perWindow = options.perWindow ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.#now = now;
  }

  /**
   * Notes one failure: resolves true when the caller should audit it one by one,
   * false when it was only counted. Writes the previous window's summary first
   * when that window has ended.
   */
  async note(lockbox: ServerLockbox, code: string): Promise<boolean> {
    await this.flush(lockbox);
    const now = this.#now();
    this.#window ??= { from: now, until: now + this.windowMs, listed: 0, unlisted: {} };
    const window = this.#window;
    if (window.listed < this.perWindow) {
      window.listed += 1;
      return true;
    }
    window.unlisted[code] = (window.unlisted[code] ?? 0) + 1;
    return false;
  }

  /** Writes the summary of an ended window (all of it with `force`, e.g. on shutdown). */
  async flush(lockbox: ServerLockbox, force = false): Promise<void> {
    const window = this.#window;
    if (window === undefined || (!force && window.until > this.#now())) return;
    this.#window = undefined;
    const unlisted = Object.values(window.unlisted).reduce((a, b) => a + b, 0);
    if (unlisted === 0) return;
    await lockbox.audit.record({
      action: 'auth.failed',
      outcome: 'denied',
      details: {
        from: new Date(window.from).toISOString(),
        until: new Date(Math.min(window.until, this.#now())).toISOString(),
        listed: window.listed,
        unlisted,
        byCode: window.unlisted,
      },
    });
  }
}
