import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectError, expectRejection } from '@lockbox/test-helpers';
import { armor, Encrypter, generateHybridIdentity, identityToRecipient } from 'age-encryption';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatAgeIdentityFile,
  generateAgeIdentity,
  parseAgeIdentity,
  parseAgeRecipient,
  recipientFromIdentity,
  unwrapWithIdentity,
  wrapToRecipient,
  writeAgeIdentityFile,
} from '../../src/keys/age-identity.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockbox-age-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Flips one character of the identity's data part, keeping the format plausible. */
function corrupt(text: string, at: number): string {
  const c = text[at] === 'Q' ? 'P' : 'Q';
  return `${text.slice(0, at)}${c}${text.slice(at + 1)}`;
}

describe('age identities', () => {
  it('generates an X25519 identity and its recipient', async () => {
    const { identity, recipient } = await generateAgeIdentity();
    expect(identity).toMatch(/^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
    expect(recipient).toMatch(/^age1[02-9ac-hj-np-z]{58}$/);
    expect(await recipientFromIdentity(identity)).toBe(recipient);
    expect(parseAgeRecipient(`${recipient}\n`)).toBe(recipient);
  });

  it('parses an identity file with comments, blank lines and CRLF', async () => {
    const pair = await generateAgeIdentity();
    const file = `# created: 2024-01-01T00:00:00Z\r\n# public key: ${pair.recipient}\r\n\r\n${pair.identity}\r\n`;
    expect(await parseAgeIdentity(file)).toEqual(pair);
    expect(await parseAgeIdentity(pair.identity)).toEqual(pair);
  });

  it('refuses identity text that is not exactly one X25519 identity, without echoing it', async () => {
    const a = await generateAgeIdentity();
    const b = await generateAgeIdentity();
    const hybrid = await generateHybridIdentity();
    const cases = [
      '',
      '# only a comment\n\n',
      `${a.identity}\n${b.identity}\n`,
      a.identity.toLowerCase(),
      corrupt(a.identity, 40),
      `${a.identity}Q`,
      hybrid,
      a.recipient,
      'AGE-SECRET-KEY-1',
    ];
    for (const text of cases) {
      await expectRejection(parseAgeIdentity(text), 'RECOVERY_IDENTITY_INVALID', [
        a.identity,
        b.identity,
        hybrid,
        a.identity.slice(16, 40),
        a.identity.toLowerCase(),
      ]);
    }
  });

  it('refuses malformed recipients and non-X25519 recipient types', async () => {
    const { recipient } = await generateAgeIdentity();
    const pq = await identityToRecipient(await generateHybridIdentity());
    for (const text of [
      '',
      recipient.toUpperCase(),
      corrupt(recipient, 30),
      recipient.slice(0, -1),
      `${recipient}q`,
      pq,
      'age1',
      'ssh-ed25519 AAAA',
      recipient.replace('age1', 'agf1'),
    ]) {
      expectError(() => parseAgeRecipient(text), 'RECIPIENT_INVALID');
    }
  });

  it('writes an identity file like age-keygen, 0600, and refuses to overwrite it', async () => {
    const pair = await generateAgeIdentity();
    const path = join(dir, 'recovery.txt');
    expect(await writeAgeIdentityFile(path, pair.identity)).toBe(pair.recipient);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(
      new RegExp(
        `^# created: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\n# public key: ${pair.recipient}\\n${pair.identity}\\n$`,
      ),
    );
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await parseAgeIdentity(text)).toEqual(pair);
    const other = await generateAgeIdentity();
    await expectRejection(writeAgeIdentityFile(path, other.identity), 'KEY_FILE_EXISTS', [
      other.identity,
    ]);
    await writeAgeIdentityFile(path, other.identity, { force: true });
    expect((await parseAgeIdentity(await readFile(path, 'utf8'))).recipient).toBe(other.recipient);
  });

  it('formats the creation time without milliseconds', () => {
    const text = formatAgeIdentityFile(
      { identity: 'AGE-SECRET-KEY-1X', recipient: 'age1x' },
      new Date('2025-03-04T05:06:07.890Z'),
    );
    expect(text).toBe('# created: 2025-03-04T05:06:07Z\n# public key: age1x\nAGE-SECRET-KEY-1X\n');
  });
});

describe('X25519 recipients whose data part begins like another type', () => {
  it('accepts a recipient that starts age1pq or age1tag (the other types have a separator there)', async () => {
    // About 1 in 1,024 random recipients starts age1pq; generate until one does.
    let found: string | undefined;
    for (let i = 0; i < 20_000 && found === undefined; i++) {
      const { recipient } = await generateAgeIdentity();
      if (recipient.startsWith('age1pq')) found = recipient;
    }
    expect(found).toBeDefined();
    expect(parseAgeRecipient(found as string)).toBe(found);
  });
});

describe('wrapping a data key to the recovery recipient', () => {
  it('round-trips through an ASCII-armored age file', async () => {
    const pair = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    const wrapped = await wrapToRecipient(pair.recipient, dataKey);
    expect(wrapped.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true);
    expect(wrapped.endsWith('-----END AGE ENCRYPTED FILE-----\n')).toBe(true);
    expect(wrapped).not.toContain(dataKey.toString('base64'));
    expect(await unwrapWithIdentity(pair.identity, wrapped)).toEqual(dataKey);
    // An identity file's contents work as the identity too.
    expect(await unwrapWithIdentity(formatAgeIdentityFile(pair), wrapped)).toEqual(dataKey);
  });

  it('wraps the same key differently every time', async () => {
    const { recipient } = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    expect(await wrapToRecipient(recipient, dataKey)).not.toBe(
      await wrapToRecipient(recipient, dataKey),
    );
  });

  it('reports another identity as RECOVERY_IDENTITY_MISMATCH', async () => {
    const owner = await generateAgeIdentity();
    const stranger = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    const wrapped = await wrapToRecipient(owner.recipient, dataKey);
    await expectRejection(
      unwrapWithIdentity(stranger.identity, wrapped),
      'RECOVERY_IDENTITY_MISMATCH',
      [stranger.identity, wrapped.split('\n')[1] ?? '', dataKey.toString('hex')],
    );
  });

  it('reports a tampered payload as DECRYPT_FAILED', async () => {
    const pair = await generateAgeIdentity();
    const wrapped = await wrapToRecipient(pair.recipient, randomBytes(32));
    const file = armor.decode(wrapped);
    file[file.length - 1] = (file[file.length - 1] ?? 0) ^ 1;
    await expectRejection(unwrapWithIdentity(pair.identity, armor.encode(file)), 'DECRYPT_FAILED', [
      pair.identity,
    ]);
  });

  it('reports text that is not an armored age file as WRAPPED_KEY_MALFORMED', async () => {
    const pair = await generateAgeIdentity();
    const binary = await new Encrypter().encrypt(randomBytes(32));
    for (const text of [
      '',
      'lbk1:AAAA',
      Buffer.from(binary).toString('base64'),
      '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n',
      'x'.repeat(20_000),
    ]) {
      await expectRejection(unwrapWithIdentity(pair.identity, text), 'WRAPPED_KEY_MALFORMED');
    }
  });

  it('refuses a malformed recipient or identity with their codes', async () => {
    const pair = await generateAgeIdentity();
    await expectRejection(wrapToRecipient('age1nope', randomBytes(32)), 'RECIPIENT_INVALID');
    const wrapped = await wrapToRecipient(pair.recipient, randomBytes(32));
    const bad = corrupt(pair.identity, 30);
    await expectRejection(unwrapWithIdentity(bad, wrapped), 'RECOVERY_IDENTITY_INVALID', [
      bad,
      pair.identity,
    ]);
  });

  it('refuses to wrap more than a small key', async () => {
    const { recipient } = await generateAgeIdentity();
    await expectRejection(wrapToRecipient(recipient, randomBytes(2048)), 'INVALID_ARGUMENT');
  });
});
