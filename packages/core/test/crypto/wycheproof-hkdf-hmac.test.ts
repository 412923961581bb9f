/**
 * hkdf.ts against every Wycheproof HKDF-SHA256 and HMAC-SHA256 case. Fingerprints
 * are HKDF outputs and Fernet tokens are HMAC-authenticated, so both primitives
 * are checked on their own before the formats built on them.
 */
import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from '../../src/crypto/constant-time.js';
import { hkdfSha256, hmacSha256 } from '../../src/crypto/hkdf.js';
import {
  hex,
  readPublicVectors,
  type WycheproofFile,
  type WycheproofResult,
} from './public-vectors.js';

interface HkdfTest {
  readonly tcId: number;
  readonly comment: string;
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
  readonly result: WycheproofResult;
}

interface MacTest {
  readonly tcId: number;
  readonly comment: string;
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
  readonly result: WycheproofResult;
}

interface MacGroup {
  readonly tagSize: number;
  readonly tests: readonly MacTest[];
}

const hkdf = readPublicVectors<WycheproofFile<{ tests: readonly HkdfTest[] }>>(
  'wycheproof/hkdf_sha256_test.json',
);
const hkdfCases = hkdf.testGroups.flatMap((group) => group.tests);
const hmac = readPublicVectors<WycheproofFile<MacGroup>>('wycheproof/hmac_sha256_test.json');
const hmacCases = hmac.testGroups.flatMap((group) =>
  group.tests.map((t) => ({ ...t, tagSize: group.tagSize })),
);

describe('HKDF-SHA256 against Wycheproof', () => {
  it('runs every case in the file', () => {
    console.log(
      `wycheproof hkdf_sha256: ${hkdfCases.length} run, 0 not applicable, ${hkdf.numberOfTests} in file`,
    );
    expect(hkdfCases.length).toBe(hkdf.numberOfTests);
  });

  it.each(hkdfCases.filter((t) => t.result === 'valid'))(
    'valid case $tcId ($comment) derives okm',
    (t) => {
      expect(hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size).toString('hex')).toBe(t.okm);
    },
  );

  it.each(hkdfCases.filter((t) => t.result !== 'valid'))(
    'invalid case $tcId ($comment) throws',
    (t) => {
      expect(() => hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size)).toThrow();
    },
  );
});

describe('HMAC-SHA256 against Wycheproof', () => {
  it('runs every case in the file', () => {
    console.log(
      `wycheproof hmac_sha256: ${hmacCases.length} run, 0 not applicable, ${hmac.numberOfTests} in file`,
    );
    expect(hmacCases.length).toBe(hmac.numberOfTests);
  });

  // Groups with tagSize 128 test truncated tags: the first tagSize bits of the MAC.
  const truncatedMac = (t: MacTest & { tagSize: number }) =>
    hmacSha256(hex(t.key), hex(t.msg)).subarray(0, t.tagSize / 8);

  it.each(hmacCases.filter((t) => t.result === 'valid'))(
    'valid case $tcId ($comment, $tagSize-bit tag) matches',
    (t) => {
      expect(truncatedMac(t).toString('hex')).toBe(t.tag);
    },
  );

  it.each(hmacCases.filter((t) => t.result !== 'valid'))(
    'invalid case $tcId ($comment, $tagSize-bit tag) does not match',
    (t) => {
      expect(constantTimeEqual(truncatedMac(t), hex(t.tag))).toBe(false);
    },
  );
});
