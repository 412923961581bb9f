/** SubmitGuard: at most one run at a time, decided synchronously. */
import { describe, expect, it } from 'vitest';
import { SubmitGuard } from '../src/lib/submit-guard.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SubmitGuard', () => {
  it('drops a second run started in the same tick as the first', async () => {
    const guard = new SubmitGuard();
    const gate = deferred();
    let runs = 0;
    const action = () => {
      runs++;
      return gate.promise;
    };
    const first = guard.run(action);
    const second = guard.run(action);
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBeUndefined();
    expect(guard.running).toBe(true);
    gate.resolve();
    await first;
    expect(runs).toBe(1);
    expect(guard.running).toBe(false);
  });

  it('allows a new run after a failed one', async () => {
    const guard = new SubmitGuard();
    await expect(guard.run(() => Promise.reject(new Error('wrong key')))).rejects.toThrow(
      'wrong key',
    );
    expect(guard.running).toBe(false);
    await expect(guard.run(async () => 'again')).resolves.toBe('again');
  });

  it('releases the guard when the action throws before returning a promise', async () => {
    const guard = new SubmitGuard();
    await expect(
      guard.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(guard.running).toBe(false);
  });
});
