/**
 * A bound on how many bundles the server reads at once.
 *
 * Each import preview or apply may run an scrypt (256 MiB, about a second of a
 * worker thread) and decrypt up to the import limit; without a bound, a handful
 * of uploads would take the machine's memory or every libuv worker thread. A
 * request over the bound is refused at once with IMPORT_BUSY (503, Retry-After)
 * and nothing of it is read; it does not queue, so a flood cannot build a backlog.
 */
import { LockboxError } from '@lockbox/core';

export const DEFAULT_IMPORT_CONCURRENCY = 2;
/** Seconds a refused client is told to wait. */
export const IMPORT_RETRY_AFTER_SECONDS = 2;

export class ImportGate {
  readonly #max: number;
  #active = 0;

  constructor(max: number = DEFAULT_IMPORT_CONCURRENCY) {
    if (!Number.isInteger(max) || max < 1) {
      throw new LockboxError('INVALID_ARGUMENT', 'importConcurrency must be a positive integer');
    }
    this.#max = max;
  }

  /** Runs `work` if a slot is free; otherwise throws IMPORT_BUSY without calling it. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) {
      throw new LockboxError(
        'IMPORT_BUSY',
        `the server is already reading ${this.#max} bundle(s); retry in ${IMPORT_RETRY_AFTER_SECONDS} s`,
        { details: { limit: this.#max } },
      );
    }
    this.#active += 1;
    try {
      return await work();
    } finally {
      this.#active -= 1;
    }
  }
}
