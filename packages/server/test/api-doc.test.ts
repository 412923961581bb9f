/**
 * docs/api.md's error→status table is the server's table: every code, the same status.
 */
import { readFileSync } from 'node:fs';
import { ERROR_STATUS } from '@lockbox/server';
import { describe, expect, it } from 'vitest';

describe('docs/api.md', () => {
  it('lists every error code under the status the server answers with', () => {
    const text = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const documented: Record<string, number> = {};
    for (const [, status, codes] of text.matchAll(/^\| (\d{3}) \| (.+) \|$/gm)) {
      for (const [, code] of (codes ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)) {
        documented[code as string] = Number(status);
      }
    }
    expect(documented).toEqual({ ...ERROR_STATUS });
  });
});
