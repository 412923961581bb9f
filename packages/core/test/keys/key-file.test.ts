import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectRejection } from '@lockbox/test-helpers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSecretFile, writeSecretFile } from '../../src/keys/key-file.js';

const posix = process.platform !== 'win32';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockbox-key-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('writeSecretFile', () => {
  it.runIf(posix)('creates the file 0600 even when the umask would allow 0666', async () => {
    const previous = process.umask(0);
    try {
      const path = join(dir, 'master.key');
      await writeSecretFile(path, 'key text\n');
      expect(await modeOf(path)).toBe(0o600);
      expect(await readFile(path, 'utf8')).toBe('key text\n');
    } finally {
      process.umask(previous);
    }
  });

  it('writes bytes exactly and leaves no temporary file behind', async () => {
    const path = join(dir, 'bin.key');
    const bytes = Uint8Array.from([0, 1, 2, 255]);
    await writeSecretFile(path, bytes);
    expect([...(await readFile(path))]).toEqual([0, 1, 2, 255]);
    expect(await readdir(dir)).toEqual(['bin.key']);
  });

  it('refuses to overwrite an existing file without force and leaves it unchanged', async () => {
    const path = join(dir, 'master.key');
    await writeSecretFile(path, 'first');
    const err = await expectRejection(writeSecretFile(path, 'second'), 'KEY_FILE_EXISTS', [
      'second',
    ]);
    expect(err.details.path).toBe(path);
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['master.key']);
  });

  it('refuses to replace even a dangling symlink without force', async () => {
    const path = join(dir, 'link.key');
    await symlink(join(dir, 'nowhere'), path);
    await expectRejection(writeSecretFile(path, 'x'), 'KEY_FILE_EXISTS');
    expect(await readdir(dir)).toEqual(['link.key']);
  });

  it.runIf(posix)('overwrites with force, and the replacement is 0600 too', async () => {
    const path = join(dir, 'master.key');
    await writeFile(path, 'old', { mode: 0o644 });
    await chmod(path, 0o644);
    await writeSecretFile(path, 'new', { force: true });
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await modeOf(path)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['master.key']);
  });

  it('refuses an empty path and a path with a NUL byte', async () => {
    await expectRejection(writeSecretFile('', 'x'), 'PATH_INVALID');
    await expectRejection(writeSecretFile(join(dir, 'a\0b'), 'x'), 'PATH_INVALID');
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a missing directory as PATH_INVALID', async () => {
    const err = await expectRejection(
      writeSecretFile(join(dir, 'missing', 'master.key'), 'x'),
      'PATH_INVALID',
    );
    expect(err.message).toContain('directory does not exist');
  });
});

describe('readSecretFile', () => {
  it('reads a 0600 file', async () => {
    const path = join(dir, 'master.key');
    await writeSecretFile(path, 'contents');
    expect((await readSecretFile(path)).toString('utf8')).toBe('contents');
  });

  it.runIf(posix)(
    'refuses a file group or others can read, telling the user to chmod 600',
    async () => {
      const path = join(dir, 'loose.key');
      await writeFile(path, 'the-secret-contents');
      for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602]) {
        await chmod(path, mode);
        const err = await expectRejection(readSecretFile(path), 'KEY_FILE_INSECURE', [
          'the-secret-contents',
        ]);
        expect(err.message).toContain(path);
        expect(err.message).toContain('chmod 600');
      }
      await chmod(path, 0o400);
      expect((await readSecretFile(path)).toString()).toBe('the-secret-contents');
    },
  );

  it.runIf(posix)('checks the mode of the file a symlink points to', async () => {
    const target = join(dir, 'target.key');
    await writeFile(target, 'k');
    await chmod(target, 0o644);
    const link = join(dir, 'link.key');
    await symlink(target, link);
    await expectRejection(readSecretFile(link), 'KEY_FILE_INSECURE');
    await chmod(target, 0o600);
    expect((await readSecretFile(link)).toString()).toBe('k');
  });

  it('reports a missing file as KEY_FILE_NOT_FOUND naming the path', async () => {
    const path = join(dir, 'absent.key');
    const err = await expectRejection(readSecretFile(path), 'KEY_FILE_NOT_FOUND');
    expect(err.message).toContain(path);
    expect(err.details.path).toBe(path);
  });

  it('refuses a directory, an empty path and a NUL byte', async () => {
    await expectRejection(readSecretFile(dir), 'PATH_INVALID');
    await expectRejection(readSecretFile(''), 'PATH_INVALID');
    await expectRejection(readSecretFile(`${dir}\0x`), 'PATH_INVALID');
  });
});
