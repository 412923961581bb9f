/** The recovery key's helpers: the recipient check before sending, and the identity file. */
import { generateAgeIdentity } from '@lockbox/core';
import { describe, expect, it } from 'vitest';
import { checkRecipient } from '../src/lib/age-recipient-check.js';
import {
  generateRecoveryKeyPair,
  recoveryIdentityFile,
  recoveryIdentityFileName,
} from '../src/lib/recovery-identity.js';

describe('checkRecipient', () => {
  it('accepts an X25519 recipient, trimmed', async () => {
    const { recipient } = await generateAgeIdentity();
    expect(checkRecipient(recipient)).toBe('ok');
    expect(checkRecipient(`  ${recipient}\n`)).toBe('ok');
  });

  it('recognises an identity pasted in its place, so it is never sent', async () => {
    const { identity } = await generateAgeIdentity();
    expect(checkRecipient(identity)).toBe('identity');
    expect(checkRecipient(identity.toLowerCase())).toBe('identity');
  });

  it('refuses empty, truncated, upper-case, non-bech32 and other recipient types', async () => {
    const { recipient } = await generateAgeIdentity();
    expect(checkRecipient('   ')).toBe('empty');
    expect(checkRecipient(recipient.slice(0, -1))).toBe('malformed');
    expect(checkRecipient(`${recipient}q`)).toBe('malformed');
    expect(checkRecipient(recipient.toUpperCase())).toBe('malformed');
    expect(checkRecipient(`age1${'b'.repeat(58)}`)).toBe('malformed');
    expect(checkRecipient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA')).toBe('malformed');
  });
});

describe('recovery key pair', () => {
  it('makes an X25519 pair whose identity file age and lockbox read', async () => {
    const pair = await generateRecoveryKeyPair();
    expect(pair.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/);
    expect(checkRecipient(pair.recipient)).toBe('ok');
    const created = new Date('2026-12-03T11:00:00Z');
    const file = recoveryIdentityFile(pair, created);
    const lines = file.trimEnd().split('\n');
    expect(lines[0]).toBe('# created: 2026-12-03T11:00:00.000Z');
    expect(lines[1]).toBe(`# public key: ${pair.recipient}`);
    expect(lines.filter((line) => !line.startsWith('#'))).toEqual([pair.identity]);
    expect(recoveryIdentityFileName(created)).toBe('lockbox-recovery-identity-2026-12-03.txt');
    // Two pairs never repeat.
    expect((await generateRecoveryKeyPair()).identity).not.toBe(pair.identity);
  });
});
