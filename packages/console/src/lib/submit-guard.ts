/**
 * A guard against double submission: at most one run of an action at a time.
 *
 * The flag is set synchronously when a run starts, before the first await, so a
 * second click dispatched in the same tick (a double click, or Enter pressed
 * twice) is dropped even before the UI has re-rendered its button as disabled.
 * The flag clears when the run settles, so a failed run can be retried.
 */
export class SubmitGuard {
  #running = false;

  get running(): boolean {
    return this.#running;
  }

  /** Starts `action` unless a run is in progress; returns its promise, or undefined when dropped. */
  run<T>(action: () => Promise<T>): Promise<T> | undefined {
    if (this.#running) return undefined;
    this.#running = true;
    let result: Promise<T>;
    try {
      result = action();
    } catch (err) {
      this.#running = false;
      return Promise.reject(err);
    }
    return result.finally(() => {
      this.#running = false;
    });
  }
}
