/**
 * Key files that follow a master rotation: after `lockbox rotate master` (or a
 * rotation over HTTP on `lockbox serve`) from the key in the configured key file,
 * the key file holds the new key and `<key file>.previous` the old one, so the
 * next command and the next restart work with the same configuration.
 *
 * The invariant, at every instant (a kill -9 anywhere included): the files that
 * exist open every data key of the store. Reading them is key-files.ts
 * (primary, `.previous` and `.next` all join the keyring). The steps:
 *
 *   stage    (before the rotation writes anything, after its proofs)
 *            `.next` ← new key, 0600, atomically. The data keys now move from the
 *            old key (the key file) to the new one (`.next`): both are configured.
 *   commit   (after the rotation finished)
 *     1. an old `.previous` that no data key needs is renamed
 *        `<key file>.<fingerprint>.retired` (kept for old backups, never read);
 *     2. `.previous` ← the old key (from the key file), atomically;
 *     3. rename `.next` over the key file (atomic), then fsync the directory.
 *
 * A `.previous` that data keys still need is never replaced: stage and commit
 * refuse with KEY_STILL_NEEDED, naming the command that frees it. A `.next`
 * left by an interrupted rotation is reused by the next `rotate master`, so the
 * rerun finishes the same job instead of starting a different one.
 */
import { existsSync } from 'node:fs';
import { constants, type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  fingerprint,
  type Lockbox,
  LockboxError,
  type MasterRotationResult,
  masterKeyFromFile,
  readSecretFile,
  writeMasterKeyFile,
  writeSecretFile,
} from '@lockbox/core';
import type { KeyFilePaths } from './key-files.js';

/** The points a swap passes through, in order (observed by the crash tests). */
export type SwapStep = 'staged' | 'previous-retired' | 'previous-written' | 'primary-replaced';

/** Which master keys stored data keys still need (fingerprints). */
export type NeededKeys = () => Promise<ReadonlySet<string>>;

export interface SwapReport {
  /** The key file, which now holds the new key. */
  primary: string;
  /** The file holding the old key, a previous key until `lockbox doctor` says nothing needs it. */
  previous: string;
  /** Where an older, unneeded `.previous` was moved, if there was one. */
  retired?: string;
}

async function fingerprintOf(path: string): Promise<string> {
  const key = await masterKeyFromFile(path);
  try {
    return fingerprint(key);
  } finally {
    key.fill(0);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Platforms that cannot fsync a directory: the rename is as durable as the OS makes it.
  } finally {
    await handle?.close();
  }
}

export class KeyFileRotation {
  readonly paths: KeyFilePaths;
  readonly #onStep: (step: SwapStep) => void;

  /** `onStep` is called after each step has reached the disk. */
  constructor(paths: KeyFilePaths, options: { onStep?: (step: SwapStep) => void } = {}) {
    this.paths = paths;
    this.#onStep = options.onStep ?? (() => undefined);
  }

  /** The new key an interrupted rotation staged in `.next`, if any (the caller zeroes it). */
  async stagedKey(): Promise<Buffer | undefined> {
    return existsSync(this.paths.next) ? masterKeyFromFile(this.paths.next) : undefined;
  }

  /** The fingerprint of the key in the key file. */
  primaryFingerprint(): Promise<string> {
    return fingerprintOf(this.paths.primary);
  }

  /** Throws KEY_STILL_NEEDED when `.previous` holds a key that data keys need, other than `except`. */
  async #checkPrevious(needed: NeededKeys, except: string): Promise<string | undefined> {
    if (!existsSync(this.paths.previous)) return undefined;
    const fp = await fingerprintOf(this.paths.previous);
    if (fp !== except && (await needed()).has(fp)) {
      throw new LockboxError(
        'KEY_STILL_NEEDED',
        `${this.paths.previous} holds master key ${fp}, which stored data keys still need, so it cannot make way for the key being rotated out; move those data keys first: \`lockbox rotate master --old-key-file ${this.paths.previous} --new-key-file ${this.paths.primary} --keep-key-files\``,
        { details: { fingerprint: fp, path: this.paths.previous } },
      );
    }
    return fp;
  }

  /**
   * Writes the new key to `.next` (0600 from creation, atomic). Refuses, writing
   * nothing, with KEY_STILL_NEEDED (see above) and KEY_FILE_EXISTS when `.next`
   * holds a different key (an interrupted rotation to another key).
   */
  async stage(newKey: Buffer, needed: NeededKeys): Promise<void> {
    const oldFp = await this.primaryFingerprint();
    await this.#checkPrevious(needed, oldFp);
    const staged = await this.stagedKey();
    if (staged !== undefined) {
      const same = fingerprint(staged) === fingerprint(newKey);
      staged.fill(0);
      if (same) return;
      throw new LockboxError(
        'KEY_FILE_EXISTS',
        `${this.paths.next} holds the new key of an unfinished rotation; finish it with \`lockbox rotate master\` (no new-key flag), or delete the file if \`lockbox doctor\` shows no data key under its key`,
        { details: { path: this.paths.next } },
      );
    }
    await writeMasterKeyFile(this.paths.next, newKey);
    this.#onStep('staged');
  }

  /**
   * Makes the staged key primary: the steps of the module comment. Returns
   * undefined when nothing is staged. Throws KEY_STILL_NEEDED when `.previous`
   * is still needed; PATH_INVALID when the directory cannot be written. A failure
   * at any step leaves files that open the store; running commit again finishes.
   */
  async commit(needed: NeededKeys): Promise<SwapReport | undefined> {
    const { primary, previous, next } = this.paths;
    if (!existsSync(next)) return undefined;
    const oldFp = await this.primaryFingerprint();
    const newFp = await fingerprintOf(next);
    const report: SwapReport = { primary, previous };
    const previousFp = await this.#checkPrevious(needed, oldFp);
    if (previousFp !== undefined && previousFp !== oldFp && previousFp !== newFp) {
      report.retired = `${primary}.${previousFp}.retired`;
      await rename(previous, report.retired).catch((err: unknown) => {
        throw keyFileError(err, previous);
      });
      await syncDirectory(dirname(primary));
      this.#onStep('previous-retired');
    }
    if (oldFp !== newFp) {
      const oldKey = await readSecretFile(primary);
      try {
        await writeSecretFile(previous, oldKey, { force: true });
      } finally {
        oldKey.fill(0);
      }
      this.#onStep('previous-written');
    }
    await rename(next, primary).catch((err: unknown) => {
      throw keyFileError(err, primary);
    });
    await syncDirectory(dirname(primary));
    this.#onStep('primary-replaced');
    return report;
  }

  /** After a refused rotation: removes `.next` if no stored data key is wrapped under it. */
  async unstage(needed: NeededKeys): Promise<void> {
    if (!existsSync(this.paths.next)) return;
    const fp = await fingerprintOf(this.paths.next);
    if (!(await needed()).has(fp)) await unlink(this.paths.next).catch(() => undefined);
  }
}

function keyFileError(err: unknown, path: string): LockboxError {
  const errno = (err as NodeJS.ErrnoException).code ?? 'unknown error';
  return new LockboxError('PATH_INVALID', `cannot replace ${path} (${errno})`, {
    cause: err,
    details: { path, errno },
  });
}

/**
 * Which master keys the store still needs: those wrapping live data keys, and
 * both keys of an unfinished master rotation (its job resumes with them, even
 * before it has rewrapped anything).
 */
export function neededKeys(lockbox: Pick<Lockbox, 'status' | 'rotation'>): NeededKeys {
  return async () => {
    const status = await lockbox.status();
    const needed = new Set(status.keys.needed.map((n) => n.fingerprint));
    const { unfinished } = await lockbox.rotation.status();
    if (unfinished?.kind === 'master') {
      if (unfinished.from !== null) needed.add(unfinished.from);
      if (unfinished.to !== null) needed.add(unfinished.to);
    }
    return needed;
  };
}

/**
 * A master rotation whose key files follow it: proofs first (a dry run, so a
 * refusal writes nothing, not even `.next`), then stage, rotate, commit. A
 * rotation that fails after staging removes `.next` again unless the store
 * needs it (then a rerun finishes with it).
 */
export async function rotateFollowingKeyFiles(
  files: KeyFileRotation,
  needed: NeededKeys,
  newKey: Buffer,
  rotate: (dryRun: boolean) => Promise<MasterRotationResult>,
): Promise<{ result: MasterRotationResult; swap: SwapReport | undefined }> {
  await rotate(true);
  await files.stage(newKey, needed);
  let result: MasterRotationResult;
  try {
    result = await rotate(false);
  } catch (err) {
    await files.unstage(needed).catch(() => undefined);
    throw err;
  }
  return { result, swap: await files.commit(needed) };
}
