/**
 * Secret files: master keys and age identities on disk.
 *
 * Writing promises three things. The file is never readable by group or others,
 * not even for an instant (it is created 0600, whatever the umask). A crash never
 * leaves a half-written key at the target path (the bytes go to a temporary file
 * in the same directory, are fsynced, and only then appear under the final name).
 * An existing key is never replaced unless the caller says `force` — and that
 * check is atomic, not a look-then-write race.
 *
 * Reading refuses a file that group or others can read or write, the way ssh
 * refuses a private key with loose permissions, so a key left world-readable is
 * noticed instead of silently used.
 *
 * Errors name the path (paths are not secret) and never the file's contents.
 */
import { randomBytes } from 'node:crypto';
import { constants, type FileHandle, link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LockboxError } from '../errors.js';

/** Permission bits of every secret file Lockbox writes. */
export const SECRET_FILE_MODE = 0o600;

/** A key or identity file is a few hundred bytes; anything this large is not one. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface WriteSecretFileOptions {
  /** Replace an existing file at `path`. Without it, an existing file is KEY_FILE_EXISTS. */
  force?: boolean;
}

/**
 * Refuses paths that cannot name a file safely: empty, or containing NUL (which
 * the OS would truncate at, so the file written would not be the one named).
 */
export function checkSecretPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0) {
    throw new LockboxError('PATH_INVALID', 'the key file path is empty');
  }
  if (path.includes('\0')) {
    throw new LockboxError('PATH_INVALID', 'the key file path contains a NUL byte');
  }
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function fsError(err: unknown, path: string, action: string): LockboxError {
  if (err instanceof LockboxError) return err;
  const errno = errnoOf(err) ?? 'unknown error';
  const reason =
    errno === 'ENOENT' || errno === 'ENOTDIR'
      ? 'its directory does not exist'
      : errno === 'EACCES' || errno === 'EPERM'
        ? 'permission denied'
        : errno === 'EISDIR'
          ? 'it is a directory'
          : 'the file system refused';
  return new LockboxError('PATH_INVALID', `cannot ${action} ${path}: ${reason} (${errno})`, {
    cause: err,
    details: { path, errno },
  });
}

function exists(path: string): LockboxError {
  return new LockboxError(
    'KEY_FILE_EXISTS',
    `${path} already exists; refusing to overwrite a key file without force`,
    { details: { path } },
  );
}

/**
 * Flushes the directory entry so the new name survives a power loss. Some
 * platforms (Windows) and file systems cannot open or fsync a directory; there
 * the rename is as durable as the OS makes it, which is the best available.
 */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    const errno = errnoOf(err);
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP', 'EACCES'].includes(errno ?? '')) {
      throw fsError(err, dir, 'sync directory');
    }
  } finally {
    await handle?.close();
  }
}

/**
 * Moves the finished temporary file to `path`. Without force, `link` publishes
 * it only if `path` does not exist (atomically: EEXIST otherwise); file systems
 * without hard links fall back to check-then-rename, which is only racy against
 * another writer creating the same path in that instant.
 */
async function publish(temp: string, path: string, force: boolean): Promise<void> {
  if (force) {
    await rename(temp, path).catch((err) => {
      throw fsError(err, path, 'write');
    });
    return;
  }
  try {
    await link(temp, path);
    // The key is in place; a leftover temporary name is only clutter.
    await unlink(temp).catch(() => undefined);
    return;
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === 'EEXIST') throw exists(path);
    if (errno !== 'EPERM' && errno !== 'ENOTSUP' && errno !== 'EOPNOTSUPP' && errno !== 'ENOSYS') {
      throw fsError(err, path, 'write');
    }
  }
  const taken = await lstat(path).then(
    () => true,
    (err) => errnoOf(err) !== 'ENOENT',
  );
  if (taken) throw exists(path);
  await rename(temp, path).catch((err) => {
    throw fsError(err, path, 'write');
  });
}

/**
 * Writes `contents` to `path` as a 0600 file, atomically and durably.
 *
 * Throws PATH_INVALID for an empty path, a NUL byte, or a directory that does not
 * exist or cannot be written; KEY_FILE_EXISTS when `path` exists and `force` is
 * not set. On any failure the target is unchanged and no temporary file remains.
 */
export async function writeSecretFile(
  path: string,
  contents: string | Uint8Array,
  options: WriteSecretFileOptions = {},
): Promise<void> {
  checkSecretPath(path);
  const force = options.force === true;
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents;
  let handle: FileHandle | undefined;
  let published = false;
  try {
    // 'wx': the temporary name is fresh, so an existing file there is an attack
    // or a collision; never write through it. The mode applies from creation.
    handle = await open(temp, 'wx', SECRET_FILE_MODE).catch((err) => {
      throw fsError(err, path, 'write');
    });
    // The umask can only remove bits from 0600; chmod makes the mode exact anyway.
    await handle.chmod(SECRET_FILE_MODE);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await publish(temp, path, force);
    published = true;
    await syncDirectory(dir);
  } catch (err) {
    throw fsError(err, path, 'write');
  } finally {
    await handle?.close().catch(() => undefined);
    if (!published) await unlink(temp).catch(() => undefined);
    if (typeof contents === 'string') bytes.fill(0);
  }
}

/**
 * Reads a secret file. Throws KEY_FILE_NOT_FOUND when it does not exist,
 * KEY_FILE_INSECURE when group or others have any permission on it (POSIX only:
 * Windows has no such mode bits), PATH_INVALID when it is not a regular file or
 * cannot be read, and INVALID_ARGUMENT when it is larger than a key file can be.
 * Symbolic links are followed (mounted secrets are often links); the mode checked
 * is the target's. The caller owns the returned buffer and should zero it.
 */
export async function readSecretFile(path: string): Promise<Buffer> {
  checkSecretPath(path);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') {
      throw new LockboxError('KEY_FILE_NOT_FOUND', `key file ${path} does not exist`, {
        details: { path },
      });
    }
    throw fsError(err, path, 'read');
  }
  try {
    // fstat on the open handle: the checked file is the file read.
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new LockboxError('PATH_INVALID', `${path} is not a regular file`, {
        details: { path },
      });
    }
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new LockboxError(
        'KEY_FILE_INSECURE',
        `key file ${path} has mode ${mode}, readable or writable by group or others; run \`chmod 600 ${path}\``,
        { details: { path, mode } },
      );
    }
    if (stat.size > MAX_SECRET_FILE_BYTES) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `${path} is ${stat.size} bytes; a key file is at most ${MAX_SECRET_FILE_BYTES}`,
        { details: { path } },
      );
    }
    return await handle.readFile();
  } catch (err) {
    throw fsError(err, path, 'read');
  } finally {
    await handle.close();
  }
}
