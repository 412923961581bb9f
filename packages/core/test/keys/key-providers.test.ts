import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectError, expectRejection } from '@lockbox/test-helpers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/crypto/fingerprint.js';
import { formatMasterKey } from '../../src/crypto/master-key.js';
import { writeSecretFile } from '../../src/keys/key-file.js';
import {
  keyringFromConfig,
  masterKeyFromEnv,
  masterKeyFromFile,
  parseKeyList,
  splitKeyList,
  writeMasterKeyFile,
} from '../../src/keys/key-providers.js';

const key = () => randomBytes(32);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockbox-providers-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('masterKeyFromEnv', () => {
  it('reads LOCKBOX_MASTER_KEY in base64, base64url or hex, ignoring a trailing newline', () => {
    const bytes = key();
    for (const text of [
      formatMasterKey(bytes),
      bytes.toString('base64url'),
      bytes.toString('hex'),
      `${formatMasterKey(bytes)}\n`,
    ]) {
      expect(masterKeyFromEnv('LOCKBOX_MASTER_KEY', { LOCKBOX_MASTER_KEY: text })).toEqual(bytes);
    }
  });

  it('reads a custom variable name', () => {
    const bytes = key();
    expect(masterKeyFromEnv('APP_KEY', { APP_KEY: bytes.toString('hex') })).toEqual(bytes);
  });

  it('reports an unset or blank variable as KEY_MISSING naming it', () => {
    for (const env of [{}, { LOCKBOX_MASTER_KEY: '' }, { LOCKBOX_MASTER_KEY: ' \n' }]) {
      const err = expectError(() => masterKeyFromEnv(undefined, env), 'KEY_MISSING');
      expect(err.message).toContain('LOCKBOX_MASTER_KEY');
      expect(err.details.variable).toBe('LOCKBOX_MASTER_KEY');
    }
  });

  it('names the variable but never its value when the key is malformed', () => {
    const short = randomBytes(31).toString('base64');
    const err = expectError(
      () => masterKeyFromEnv('LOCKBOX_MASTER_KEY', { LOCKBOX_MASTER_KEY: short }),
      'KEY_INVALID_LENGTH',
      [short, short.slice(0, 12)],
    );
    expect(err.message).toContain('LOCKBOX_MASTER_KEY');
    const garbage = 'not a key! canary-9f1c';
    expectError(() => masterKeyFromEnv('K', { K: garbage }), 'KEY_INVALID_ENCODING', [
      garbage,
      'canary-9f1c',
    ]);
  });
});

describe('masterKeyFromFile', () => {
  it('reads a key file holding the base64 key and a trailing newline', async () => {
    const bytes = key();
    const path = join(dir, 'master.key');
    await writeSecretFile(path, `${formatMasterKey(bytes)}\n`);
    expect(await masterKeyFromFile(path)).toEqual(bytes);
  });

  it.runIf(process.platform !== 'win32')(
    'refuses a world-readable key file without reading its key',
    async () => {
      const text = formatMasterKey(key());
      const path = join(dir, 'loose.key');
      await writeFile(path, text);
      await chmod(path, 0o644);
      await expectRejection(masterKeyFromFile(path), 'KEY_FILE_INSECURE', [text]);
    },
  );

  it('reads back what writeMasterKeyFile wrote, and refuses to overwrite it', async () => {
    const bytes = key();
    const path = join(dir, 'written.key');
    await writeMasterKeyFile(path, bytes);
    expect(await readFile(path, 'utf8')).toBe(`${formatMasterKey(bytes)}\n`);
    expect(await masterKeyFromFile(path)).toEqual(bytes);
    await expectRejection(writeMasterKeyFile(path, key()), 'KEY_FILE_EXISTS');
    await expectRejection(
      writeMasterKeyFile(join(dir, 'short.key'), randomBytes(16)),
      'KEY_INVALID_LENGTH',
    );
  });

  it('reports a missing file and a malformed key, naming the path and not the contents', async () => {
    await expectRejection(masterKeyFromFile(join(dir, 'absent.key')), 'KEY_FILE_NOT_FOUND');
    const path = join(dir, 'bad.key');
    const text = randomBytes(16).toString('base64');
    await writeSecretFile(path, text);
    const err = await expectRejection(masterKeyFromFile(path), 'KEY_INVALID_LENGTH', [text]);
    expect(err.message).toContain(path);
  });
});

describe('parseKeyList', () => {
  it('splits on commas and any whitespace, dropping empty entries', () => {
    const [a, b, c] = [key(), key(), key()];
    const text = ` ${formatMasterKey(a)},${b.toString('hex')}\n\t, ${c.toString('base64url')} ,`;
    expect(parseKeyList(text)).toEqual([a, b, c]);
    expect(splitKeyList(' a, b\nc ')).toEqual(['a', 'b', 'c']);
  });

  it('returns an empty list for empty or blank text', () => {
    expect(parseKeyList('')).toEqual([]);
    expect(parseKeyList(' ,\n ')).toEqual([]);
  });

  it('names a bad entry by its position, never by its value', () => {
    const good = formatMasterKey(key());
    const bad = randomBytes(20).toString('hex');
    const err = expectError(() => parseKeyList(`${good}, ${bad}, ${good}`), 'KEY_INVALID_LENGTH', [
      bad,
      good,
    ]);
    expect(err.details.entry).toBe(2);
    expect(err.message).toContain('LOCKBOX_PREVIOUS_KEYS entry 2 of 3');
    const junk = 'zz-canary-junk!';
    const err2 = expectError(() => parseKeyList(`${junk} ${good}`), 'KEY_INVALID_ENCODING', [junk]);
    expect(err2.details.entry).toBe(1);
  });
});

describe('keyringFromConfig', () => {
  it('builds a keyring from a primary value and previous values and files', async () => {
    const [primary, prev1, prev2] = [key(), key(), key()];
    const path = join(dir, 'prev2.key');
    await writeSecretFile(path, `${formatMasterKey(prev2)}\n`);
    const keyring = await keyringFromConfig({
      primary: formatMasterKey(primary),
      previous: [prev1.toString('hex')],
      previousFiles: [path],
    });
    expect(keyring.primary.fingerprint).toBe(fingerprint(primary));
    expect(keyring.fingerprints()).toEqual([
      fingerprint(primary),
      fingerprint(prev1),
      fingerprint(prev2),
    ]);
  });

  it('reads the primary from a key file', async () => {
    const primary = key();
    const path = join(dir, 'master.key');
    await writeSecretFile(path, formatMasterKey(primary));
    const keyring = await keyringFromConfig({ primaryFile: path });
    expect(keyring.primary.fingerprint).toBe(fingerprint(primary));
    expect(keyring.previous).toEqual([]);
  });

  it('reports KEY_MISSING without a primary, even when previous keys are given', async () => {
    await expectRejection(keyringFromConfig({}), 'KEY_MISSING');
    await expectRejection(
      keyringFromConfig({ primary: '  ', previous: [formatMasterKey(key())] }),
      'KEY_MISSING',
    );
  });

  it('refuses a primary given both as a value and as a file', async () => {
    await expectRejection(
      keyringFromConfig({ primary: formatMasterKey(key()), primaryFile: join(dir, 'x') }),
      'INVALID_ARGUMENT',
    );
  });

  it('refuses the same key twice, naming its fingerprint', async () => {
    const primary = key();
    const err = await expectRejection(
      keyringFromConfig({ primary: formatMasterKey(primary), previous: [primary.toString('hex')] }),
      'KEY_DUPLICATE',
      [formatMasterKey(primary), primary.toString('hex')],
    );
    expect(err.details.fingerprint).toBe(fingerprint(primary));
  });

  it('names a bad previous key by position without its value', async () => {
    const bad = randomBytes(33).toString('base64');
    const err = await expectRejection(
      keyringFromConfig({
        primary: formatMasterKey(key()),
        previous: [formatMasterKey(key()), bad],
      }),
      'KEY_INVALID_LENGTH',
      [bad],
    );
    expect(err.details.entry).toBe(2);
    expect(err.message).toContain('previous master key entry 2 of 2');
  });
});
