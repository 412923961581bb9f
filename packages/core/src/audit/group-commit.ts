/**
 * Group commit: items added in the same turn of the event loop, or while a flush
 * is running, are written together by the next flush, in the order they were
 * added.
 *
 * Why: every audit append ends in a commit (an fsync on PostgreSQL). Under
 * concurrent load, one transaction per batch instead of one per event multiplies
 * throughput by the batch size, while a lone event still goes out in the same
 * turn (setImmediate: no timer, no wait for more events).
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
      if (!this.#running) {
        this.#running = true;
        // After the callbacks of this event-loop turn, not at once: requests whose
        // data arrived together reach here one after another, and a flush that
        // does not wait on I/O (SQLite's) would otherwise always write them one
        // by one.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
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
