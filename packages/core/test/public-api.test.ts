import * as root from '@lockbox/core';
import * as hazmat from '@lockbox/core/hazmat';
import { describe, expect, it } from 'vitest';

// The root is what an application, the server and the CLI need; primitives
// that can lose or expose data when used wrongly live behind /hazmat only.
describe('the public API', () => {
  it('keeps primitives out of the root and exports no name from both entry points', () => {
    const rootNames = new Set(Object.keys(root));
    const both = Object.keys(hazmat).filter((name) => rootNames.has(name));
    expect(both).toEqual([]);
    for (const primitive of [
      'encryptFernet',
      'encryptV2',
      'hkdfSha256',
      'hmacSha256',
      'parseCiphertext',
      'decryptParsed',
      'wrapKey',
      'unwrapParsed',
      'setMeta',
      'migrateToLatest',
    ]) {
      expect(rootNames.has(primitive), primitive).toBe(false);
      expect(primitive in hazmat, primitive).toBe(true);
    }
  });

  it('exports from the root the one-call open and the error type', () => {
    expect(typeof root.openLockbox).toBe('function');
    expect(typeof root.LockboxError).toBe('function');
    expect(typeof root.inspectStore).toBe('function');
  });
});
