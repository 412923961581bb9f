/**
 * Whether this instance may serve: the lockbox has opened (which includes the
 * startup key check — the keyring proved it opens the stored data keys) and the
 * server is not shutting down.
 *
 * The server can start listening before the lockbox has opened, so /healthz and
 * /readyz answer while a slow database connects; every /v1 route answers
 * NOT_READY (503) until then. A failed open is remembered with its error code so
 * /readyz can say why (KEY_WRONG, STORE_FAILED, ...).
 */
import { isLockboxError, LockboxError } from '@lockbox/core';

export type ReadinessState = 'starting' | 'ready' | 'failed' | 'closing';

export class Readiness<T> {
  #state: ReadinessState = 'starting';
  #value: T | undefined;
  #failure: { code: string; message: string } | undefined;
  /** Settles when the open settles; never rejects. */
  readonly settled: Promise<void>;

  constructor(source: T | Promise<T>) {
    this.settled = Promise.resolve(source).then(
      (value) => {
        this.#value = value;
        if (this.#state === 'starting') this.#state = 'ready';
      },
      (err: unknown) => {
        if (this.#state === 'starting') this.#state = 'failed';
        this.#failure = isLockboxError(err)
          ? { code: err.code, message: err.message }
          : { code: 'INTERNAL', message: 'the lockbox could not be opened' };
      },
    );
  }

  get state(): ReadinessState {
    return this.#state;
  }

  /** Why the open failed, when it did. */
  get failure(): { code: string; message: string } | undefined {
    return this.#failure;
  }

  /** The opened value, or undefined while starting or after a failed open. */
  get value(): T | undefined {
    return this.#value;
  }

  /**
   * The opened value; throws NOT_READY while the lockbox is opening or after it
   * failed to open. During shutdown it still returns the value, so requests
   * already in flight finish (new ones are refused by `accepting`).
   */
  require(): T {
    if (this.#value === undefined || this.#state === 'failed') {
      throw new LockboxError('NOT_READY', 'the lockbox has not passed its startup key check');
    }
    return this.#value;
  }

  /** False once shutdown has begun: new requests are refused from then on. */
  get accepting(): boolean {
    return this.#state !== 'closing';
  }

  /** Marks the instance as shutting down: /readyz turns 503 and new requests are refused. */
  close(): void {
    this.#state = 'closing';
  }
}
