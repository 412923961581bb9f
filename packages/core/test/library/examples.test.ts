/**
 * docs/library.md cannot drift from code that works: each of its JavaScript
 * blocks is one file of docs/examples byte for byte, every example is shown,
 * and each example runs against the built @lockbox/core in a fresh directory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { formatMasterKey, generateMasterKey } from '@lockbox/core';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DOCS = resolve(import.meta.dirname, '../../../../docs');
const EXAMPLES = join(DOCS, 'examples');
const examples = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.mjs'))
  .sort();

const expected: Record<string, RegExp> = {
  'quick-start.mjs': /^ghp_example\n\[ 'github-token' \]\n$/,
  'fields.mjs': /^sk-example\n$/,
  'audit-and-errors.mjs':
    /^not found: SECRET_NOT_FOUND\nsecret\.read error billing-service\ntrue\n$/,
  'rotation.mjs': /^[0-9a-f]{16} → [0-9a-f]{16}: \d+ data keys rewrapped\n\[ '[0-9a-f]{16}' \]\n$/,
};

describe('docs/library.md', () => {
  it('shows every example file byte for byte, and nothing else', () => {
    const doc = readFileSync(join(DOCS, 'library.md'), 'utf8');
    const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    const files = examples.map((f) => readFileSync(join(EXAMPLES, f), 'utf8'));
    expect(blocks.length).toBe(files.length);
    for (const file of files) expect(blocks).toContain(file);
    expect(Object.keys(expected).sort()).toEqual(examples);
  });

  it.each(examples)('%s runs and prints what the page says', async (example) => {
    const dir = mkdtempSync(join(tmpdir(), 'lockbox-example-'));
    const key = formatMasterKey(generateMasterKey());
    try {
      // The database is ./lockbox.db in the working directory; the examples
      // share one, as the page's sections do.
      const { stdout, stderr } = await run(process.execPath, [join(EXAMPLES, example)], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', ENCRYPTION_KEY: key },
      });
      expect(stderr).toBe('');
      expect(stdout).toMatch(expected[example] as RegExp);
      expect(stdout).not.toContain(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
