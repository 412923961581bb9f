import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MaskedValue, MaskStream } from '../src/mask-stream.js';

async function masked(values: MaskedValue[], chunks: (string | Buffer)[]): Promise<string> {
  const out: Buffer[] = [];
  const stream = Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new MaskStream(values));
  for await (const chunk of stream) out.push(chunk as Buffer);
  return Buffer.concat(out).toString('utf8');
}

const KEY: MaskedValue = { name: 'API_KEY', value: 'sk-abcdef123' };

describe('MaskStream', () => {
  it('replaces a value in one chunk', async () => {
    expect(await masked([KEY], ['token sk-abcdef123 here'])).toBe('token <redacted:API_KEY> here');
  });

  it('replaces a value split across two writes at every split point', async () => {
    const text = `a ${KEY.value} b`;
    for (let cut = 0; cut <= text.length; cut += 1) {
      expect(await masked([KEY], [text.slice(0, cut), text.slice(cut)]), `cut ${cut}`).toBe(
        'a <redacted:API_KEY> b',
      );
    }
  });

  it('replaces a value spread over one-byte writes', async () => {
    expect(await masked([KEY], [...`x${KEY.value}${KEY.value}y`])).toBe(
      'x<redacted:API_KEY><redacted:API_KEY>y',
    );
  });

  it('prefers the longest value when one contains another', async () => {
    const values = [
      { name: 'SHORT', value: 'abc' },
      { name: 'LONG', value: 'abcdef' },
    ];
    expect(await masked(values, ['abcdef abc ab', 'c abcde'])).toBe(
      '<redacted:LONG> <redacted:SHORT> <redacted:SHORT> <redacted:SHORT>de',
    );
  });

  it('emits a held partial match when the stream ends without completing it', async () => {
    expect(await masked([KEY], ['end sk-abc'])).toBe('end sk-abc');
  });

  it('passes text without values through unchanged, and ignores empty values', async () => {
    expect(await masked([{ name: 'E', value: '' }, KEY], ['plain ', 'text\n'])).toBe(
      'plain text\n',
    );
  });

  it('never lets a value through, however the output is chunked (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'sk-', 'abcdef123', 'sk-abcdef123', '\n'), {
          maxLength: 12,
        }),
        fc.array(fc.nat(40), { maxLength: 6 }),
        async (parts, cuts) => {
          const text = parts.join('');
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks: string[] = [];
          let last = 0;
          for (const p of points) {
            chunks.push(text.slice(last, p));
            last = p;
          }
          chunks.push(text.slice(last));
          const out = await masked([KEY], chunks);
          expect(out).not.toContain(KEY.value);
          expect(out).toBe(text.replaceAll(KEY.value as string, '<redacted:API_KEY>'));
        },
      ),
    );
  });
});
