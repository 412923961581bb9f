/**
 * Every Wycheproof AES-GCM case that fits Lockbox's parameters (12-byte nonce,
 * 16-byte tag) runs through aead.ts in both directions. Cases with other nonce or
 * tag sizes are counted and reported as not applicable, never dropped silently.
 */
import { describe, expect, it } from 'vitest';
import { open, seal } from '../../src/crypto/aead.js';
import { isLockboxError } from '../../src/errors.js';
import {
  hex,
  readPublicVectors,
  type WycheproofFile,
  type WycheproofResult,
} from './public-vectors.js';

interface AeadTest {
  readonly tcId: number;
  readonly comment: string;
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
  readonly result: WycheproofResult;
}

interface AeadGroup {
  readonly ivSize: number;
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly AeadTest[];
}

const file = readPublicVectors<WycheproofFile<AeadGroup>>('wycheproof/aes_gcm_test.json');
const applies = (group: AeadGroup) => group.ivSize === 96 && group.tagSize === 128;
const applicable = file.testGroups.filter(applies).flatMap((group) => group.tests);
const notApplicable = file.testGroups
  .filter((group) => !applies(group))
  .flatMap((group) => group.tests);

function rejectsAsInvalid(run: () => unknown): boolean {
  try {
    run();
    return false;
  } catch (err) {
    return isLockboxError(err, 'DECRYPT_FAILED') || isLockboxError(err, 'CIPHERTEXT_MALFORMED');
  }
}

describe('AES-GCM against Wycheproof', () => {
  it('accounts for every case in the file', () => {
    const valid = applicable.filter((t) => t.result === 'valid').length;
    const invalid = applicable.filter((t) => t.result !== 'valid').length;
    console.log(
      `wycheproof aes_gcm: ${applicable.length} run (${valid} valid, ${invalid} invalid), ` +
        `${notApplicable.length} not applicable (nonce or tag size Lockbox never uses), ` +
        `${file.numberOfTests} in file`,
    );
    expect(applicable.length + notApplicable.length).toBe(file.numberOfTests);
    expect(applicable.length).toBeGreaterThan(150);
  });

  it.each(applicable.filter((t) => t.result === 'valid'))(
    'valid case $tcId ($comment) decrypts to the message and seal reproduces ct‖tag',
    (t) => {
      const sealed = Buffer.concat([hex(t.ct), hex(t.tag)]);
      expect(open(hex(t.key), hex(t.iv), sealed, hex(t.aad)).toString('hex')).toBe(t.msg);
      expect(seal(hex(t.key), hex(t.iv), hex(t.msg), hex(t.aad)).toString('hex')).toBe(
        sealed.toString('hex'),
      );
    },
  );

  it.each(applicable.filter((t) => t.result !== 'valid'))(
    'invalid case $tcId ($comment) is refused',
    (t) => {
      const sealed = Buffer.concat([hex(t.ct), hex(t.tag)]);
      expect(rejectsAsInvalid(() => open(hex(t.key), hex(t.iv), sealed, hex(t.aad)))).toBe(true);
    },
  );
});
