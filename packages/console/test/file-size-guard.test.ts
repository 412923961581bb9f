/** The import size guard and byte formatting. */
import { describe, expect, it } from 'vitest';
import { checkFileSize, formatBytes, MAX_IMPORT_BYTES } from '../src/lib/file-size-guard.js';

describe('checkFileSize', () => {
  it('accepts a file up to the limit and refuses one byte more', () => {
    expect(checkFileSize(MAX_IMPORT_BYTES)).toEqual({ ok: true });
    expect(checkFileSize(MAX_IMPORT_BYTES + 1)).toEqual({
      ok: false,
      reason: 'too-large',
      limit: MAX_IMPORT_BYTES,
    });
  });

  it('refuses an empty file', () => {
    expect(checkFileSize(0)).toMatchObject({ ok: false, reason: 'empty' });
  });

  it('uses the limit it is given', () => {
    expect(checkFileSize(2048, 1024)).toMatchObject({ ok: false, limit: 1024 });
  });

  it('matches the server default import limit of 64 MiB', () => {
    expect(MAX_IMPORT_BYTES).toBe(64 * 1024 * 1024);
  });
});

describe('formatBytes', () => {
  it('writes binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatBytes(1024)).toBe('1 KiB');
  });
});
