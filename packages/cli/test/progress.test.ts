import { describe, expect, it } from 'vitest';
import { createProgress } from '../src/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    write: (text: string) => {
      writes.push(text);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe('createProgress', () => {
  it('draws nothing when the stream is not a terminal', () => {
    const { stream, writes } = fakeStream(false);
    const progress = createProgress({ label: 'rotating', total: 10, stream });
    progress.update(5);
    progress.finish();
    expect(writes).toEqual([]);
  });

  it('draws a bar on a terminal and clears it when finished', () => {
    const { stream, writes } = fakeStream(true);
    const progress = createProgress({ label: 'rotating', total: 4, stream });
    progress.update(4);
    expect(writes.at(-1)).toBe(`\rrotating [${'#'.repeat(30)}] 100% 4/4`);
    progress.finish();
    expect(writes.at(-1)).toBe('\r\x1b[2K');
  });
});
