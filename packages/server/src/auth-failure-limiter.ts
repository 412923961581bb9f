/**
 * Limits on failed authentication, so a bearer token cannot be guessed at line
 * speed, from one address or from many.
 *
 * Per client IP, fixed windows: after `max` failures (missing or invalid token)
 * within `windowMs`, every request from that IP that needs a token is refused
 * with RATE_LIMITED until the window ends — even one with a valid token, so a
 * guesser learns nothing from responses while blocked. Memory is bounded: at
 * most `maxClients` windows are kept, the oldest dropped first (which is why a
 * flood from many addresses needs the global limit too).
 *
 * Global, fixed windows of the same length: after `globalMax` failures from all
 * clients together, every further failure in the window is answered RATE_LIMITED
 * (with Retry-After) instead of AUTH_MISSING/AUTH_INVALID. Valid tokens still
 * pass, so a flood cannot lock legitimate clients out.
 */
export interface AuthRateLimitOptions {
  /** Failures allowed per client per window (default 10). */
  max?: number;
  /** Window length in milliseconds (default 60 000). */
  windowMs?: number;
  /** Clients tracked at once (default 10 000). */
  maxClients?: number;
  /** Failures allowed from all clients together per window (default 1000; 0: no global limit). */
  globalMax?: number;
}

interface Window {
  failures: number;
  resetAt: number;
}

export class AuthFailureLimiter {
  readonly max: number;
  readonly windowMs: number;
  readonly globalMax: number;
  #global: Window | undefined;
  readonly #maxClients: number;
  readonly #now: () => number;
  // A Map iterates in insertion order, so the first key is the oldest window.
  readonly #windows = new Map<string, Window>();

  constructor(options: AuthRateLimitOptions = {}, now: () => number = Date.now) {
    this.max = options.max ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.#maxClients = options.maxClients ?? 10_000;
    this.globalMax = options.globalMax ?? 1000;
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

  /** Seconds until failures are answered normally again, or 0 while under the global limit. */
  globalRetryAfter(): number {
    const window = this.#global;
    if (this.globalMax === 0 || window === undefined || window.resetAt <= this.#now()) return 0;
    if (window.failures <= this.globalMax) return 0;
    return Math.max(1, Math.ceil((window.resetAt - this.#now()) / 1000));
  }

  /** Counts one failed authentication from the client (and towards the global limit). */
  fail(client: string): void {
    if (this.#global === undefined || this.#global.resetAt <= this.#now()) {
      this.#global = { failures: 0, resetAt: this.#now() + this.windowMs };
    }
    this.#global.failures += 1;
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
