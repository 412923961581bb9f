/**
 * The pieces a bundle is read with, without a database: the JSON-lines reader
 * (any chunking of the same bytes gives the same lines; limits hold before a
 * line is buffered), duplicate detection, and the header/record validators.
 */

import { expectError, expectRejection } from '@lockbox/test-helpers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseBundleHeader,
  parseBundleRecord,
  parseBundleTrailer,
} from '../../src/backup/bundle-format.js';
import { readJsonLines } from '../../src/backup/json-lines.js';
import { RecordKeySet } from '../../src/backup/record-key-set.js';

async function collect(chunks: Uint8Array[], maxLineBytes = 1 << 20) {
  async function* source() {
    yield* chunks;
  }
  const lines = [];
  for await (const line of readJsonLines(source(), maxLineBytes)) lines.push(line);
  return lines;
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    parts.push(bytes.subarray(start, point));
    start = point;
  }
  return parts;
}

describe('readJsonLines', () => {
  it('yields the same lines however the bytes are chunked (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.dictionary(fc.string(), fc.string()), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (objects, cuts) => {
          const bytes = new TextEncoder().encode(
            objects.map((o) => `${JSON.stringify(o)}\n`).join(''),
          );
          const lines = await collect(splitAt(bytes, cuts));
          expect(lines.map((l) => l.value)).toEqual(objects);
          expect(lines.map((l) => l.number)).toEqual(objects.map((_, i) => i + 1));
        },
      ),
    );
  });

  it('skips blank lines, accepts CRLF and a missing final newline, counts lines', async () => {
    const text = '{"a":1}\r\n\n  \n{"b":2}';
    const lines = await collect([new TextEncoder().encode(text)]);
    expect(lines).toEqual([
      { number: 1, value: { a: 1 } },
      { number: 4, value: { b: 2 } },
    ]);
  });

  it('refuses a line over the limit before buffering it whole (BUNDLE_TOO_LARGE)', async () => {
    const chunk = new Uint8Array(1000).fill(0x61);
    await expectRejection(collect([chunk, chunk, chunk], 1500), 'BUNDLE_TOO_LARGE');
  });

  it('refuses invalid UTF-8 and non-objects without quoting them (BUNDLE_MALFORMED)', async () => {
    await expectRejection(collect([Uint8Array.from([0x7b, 0xff, 0x7d, 0x0a])]), 'BUNDLE_MALFORMED');
    const err = await expectRejection(
      collect([new TextEncoder().encode('["secret-canary"]\n')]),
      'BUNDLE_MALFORMED',
      ['secret-canary'],
    );
    expect(err.details).toEqual({ line: 1 });
    await expectRejection(
      collect([new TextEncoder().encode('{"value":"secret-canary"\n')]),
      'BUNDLE_MALFORMED',
      ['secret-canary'],
    );
  });
});

describe('RecordKeySet', () => {
  it('reports exactly the pairs seen before (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }))),
        (pairs) => {
          const set = new RecordKeySet();
          const seen = new Set<string>();
          for (const [scope, name] of pairs) {
            const key = JSON.stringify([scope, name]);
            expect(set.add(scope, name)).toBe(!seen.has(key));
            seen.add(key);
          }
          expect(set.size).toBe(seen.size);
        },
      ),
    );
  });

  it('tells ("a","bc") from ("ab","c") and keeps working as it grows', () => {
    const set = new RecordKeySet();
    expect(set.add('a', 'bc')).toBe(true);
    expect(set.add('ab', 'c')).toBe(true);
    for (let i = 0; i < 5000; i++) expect(set.add('s', `n${i}`)).toBe(true);
    for (let i = 0; i < 5000; i++) expect(set.add('s', `n${i}`)).toBe(false);
    expect(set.size).toBe(5002);
  });
});

describe('bundle lines', () => {
  it('accepts a minimal hand-made header and refuses a newer version', () => {
    expect(parseBundleHeader({ format: 'lockbox-bundle', version: 1 }, 1)).toEqual({
      format: 'lockbox-bundle',
      version: 1,
    });
    const err = expectError(
      () => parseBundleHeader({ format: 'lockbox-bundle', version: 7 }, 1),
      'BUNDLE_VERSION_UNSUPPORTED',
    );
    expect(err.details).toEqual({ version: 7, supported: 2 });
    expectError(() => parseBundleHeader({ format: 'other', version: 1 }, 1), 'BUNDLE_MALFORMED');
    expectError(
      () => parseBundleHeader({ format: 'lockbox-bundle', version: 1, extra: true }, 1),
      'BUNDLE_MALFORMED',
    );
  });

  it('reads text and base64 values, and refuses what is not canonical', () => {
    expect(parseBundleRecord({ scope: 's', name: 'n', value: 'v' }, 2, 100)).toEqual({
      scope: 's',
      name: 'n',
      value: 'v',
      metadata: null,
    });
    const bytes = parseBundleRecord({ scope: 's', name: 'n', valueBase64: '3q2+7w==' }, 2, 100);
    expect(bytes.value).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expectError(
      () => parseBundleRecord({ scope: 's', name: 'n', valueBase64: '3q2+7w' }, 2, 100),
      'BUNDLE_MALFORMED',
    );
    expectError(
      () => parseBundleRecord({ scope: 's', name: 'n', value: 'v'.repeat(101) }, 2, 100),
      'VALUE_TOO_LARGE',
    );
    expectError(
      () => parseBundleRecord({ scope: 's', name: 'n', value: 'v', version: 0 }, 2, 100),
      'BUNDLE_MALFORMED',
    );
  });

  it('recognises the trailer only by its "end" field', () => {
    expect(parseBundleTrailer({ scope: 's' }, 3)).toBeUndefined();
    expect(parseBundleTrailer({ end: true, records: 2 }, 3)).toEqual({ end: true, records: 2 });
    expectError(() => parseBundleTrailer({ end: false, records: 2 }, 3), 'BUNDLE_MALFORMED');
    expectError(() => parseBundleTrailer({ end: true }, 3), 'BUNDLE_MALFORMED');
  });
});
