/**
 * Group commit: items added while a flush is running are written together by the
 * next flush, in the order they were added.
 *
 * Why: every audit append takes a lock that all instances share and ends in a
 * commit (an fsync). Under concurrent load, one transaction per batch instead of
 * one per event multiplies throughput by the batch size, while a lone event still
 * goes out at once (no timer, no added latency).
 *
 * Contract: `add` resolves once the flush that wrote the item has succeeded and
 * rejects with that flush's error; a failed flush fails only its own batch.
 */
export class GroupCommit<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #maxBatch: number;
  #queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  #running = false;

  constructor(flush: (items: T[]) => Promise<void>, maxBatch: number) {
    this.#flush = flush;
    this.#maxBatch = maxBatch;
  }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          await this.#flush(batch.map((entry) => entry.item));
          for (const entry of batch) entry.resolve();
        } catch (err) {
          for (const entry of batch) entry.reject(err);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
