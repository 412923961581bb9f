import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/audit/group-commit.js';

describe('group commit', () => {
  it('writes items added in one turn together, then those added during a flush, in order', async () => {
    const flushed: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number>(async (items) => {
      flushed.push(items);
      if (flushed.length === 1) await new Promise<void>((resolve) => (release = resolve));
    }, 3);
    const first = [0, 1].map((n) => group.add(n));
    // Nothing is written in the turn the items were added in…
    expect(flushed).toEqual([]);
    await nextTurn();
    // …and everything added in that turn goes out together, in the next.
    expect(flushed).toEqual([[0, 1]]);
    const rest = [2, 3, 4, 5, 6].map((n) => group.add(n));
    release();
    await Promise.all([...first, ...rest]);
    expect(flushed).toEqual([
      [0, 1],
      [2, 3, 4],
      [5, 6],
    ]);
  });

  it('writes a lone item in the next turn, without waiting for more', async () => {
    const flushed: string[][] = [];
    const group = new GroupCommit<string>(async (items) => {
      flushed.push(items);
    }, 10);
    await group.add('alone');
    expect(flushed).toEqual([['alone']]);
    await group.add('again');
    expect(flushed).toEqual([['alone'], ['again']]);
  });

  it('fails only the batch whose flush failed', async () => {
    const group = new GroupCommit<string>(async (items) => {
      if (items.includes('bad')) throw new Error('refused');
    }, 10);
    const results = await Promise.allSettled([group.add('ok'), group.add('bad'), group.add('x')]);
    // One turn, one batch: all three share the failed flush.
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const ok = group.add('ok');
    await nextTurn();
    const bad = group.add('bad');
    expect(await Promise.allSettled([ok, bad]).then((r) => r.map((x) => x.status))).toEqual([
      'fulfilled',
      'rejected',
    ]);
    await expect(group.add('later')).resolves.toBeUndefined();
  });
});
