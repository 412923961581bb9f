/**
 * A per-client limit on failed authentication, so a bearer token cannot be
 * guessed at line speed.
 *
 * Fixed windows per client IP: after `max` failures (missing or invalid token)
 * within `windowMs`, every request from that IP that needs a token is refused
 * with RATE_LIMITED until the window ends — even one with a valid token, so a
 * guesser learns nothing from responses while blocked. Memory is bounded: at
 * most `maxClients` windows are kept, the oldest dropped first.
 */
export interface AuthRateLimitOptions {
  /** Failures allowed per window (default 10). */
  max?: number;
  /** Window length in milliseconds (default 60 000). */
  windowMs?: number;
  /** Clients tracked at once (default 10 000). */
  maxClients?: number;
}

interface Window {
  failures: number;
  resetAt: number;
}

export class AuthFailureLimiter {
  readonly max: number;
  readonly windowMs: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  // A Map iterates in insertion order, so the first key is the oldest window.
  readonly #windows = new Map<string, Window>();

  constructor(options: AuthRateLimitOptions = {}, now: () => number = Date.now) {
    this.max = options.max ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.#maxClients = options.maxClients ?? 10_000;
    this.#now = now;
  }

  #current(client: string): Window | undefined {
    const window = this.#windows.get(client);
    if (window !== undefined && window.resetAt <= this.#now()) {
      this.#windows.delete(client);
      return undefined;
    }
    return window;
  }

  /** Seconds until the client may try again, or 0 when it is not blocked. */
  retryAfter(client: string): number {
    const window = this.#current(client);
    if (window === undefined || window.failures < this.max) return 0;
    return Math.max(1, Math.ceil((window.resetAt - this.#now()) / 1000));
  }

  /** Counts one failed authentication from the client. */
  fail(client: string): void {
    const window = this.#current(client);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= this.#maxClients) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    this.#windows.set(client, { failures: 1, resetAt: this.#now() + this.windowMs });
  }
}
