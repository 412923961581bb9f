import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/audit/group-commit.js';

describe('group commit', () => {
  it('writes a lone item at once and items added during a flush together, in order', async () => {
    const flushed: number[][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<number>(async (items) => {
      flushed.push(items);
      if (flushed.length === 1) await new Promise<void>((resolve) => (release = resolve));
    }, 3);
    const first = group.add(0);
    const rest = [1, 2, 3, 4, 5].map((n) => group.add(n));
    expect(flushed).toEqual([[0]]);
    release();
    await Promise.all([first, ...rest]);
    expect(flushed).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('fails only the batch whose flush failed', async () => {
    const group = new GroupCommit<string>(async (items) => {
      if (items.includes('bad')) throw new Error('refused');
    }, 10);
    const results = await Promise.allSettled([group.add('ok'), group.add('bad'), group.add('x')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    await expect(group.add('later')).resolves.toBeUndefined();
  });
});
