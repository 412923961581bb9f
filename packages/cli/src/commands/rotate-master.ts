/**
 * `lockbox rotate master` (and a master `rotate resume`): rewrap every data key
 * from the old master key to a new one, then make the configuration follow.
 *
 * When the old key is the configured primary key file (./lockbox.key as `init`
 * wrote it, or --master-key-file, LOCKBOX_MASTER_KEY_FILE, masterKeyFile) and
 * --keep-key-files is not given, the key files follow the rotation
 * (key-file-rotation.ts): the key file ends up holding the new key and
 * `<key file>.previous` the old one, crash-safe at every instant, and without a
 * new-key flag the new key is generated. Otherwise (keys from the environment or
 * stdin, explicit old keys, --keep-key-files) nothing on disk changes except
 * --write-new-key-file, and the command prints what to change, in which order,
 * for one instance and for several (key-change-instructions.ts).
 */
import { unlink } from 'node:fs/promises';
import {
  fingerprint,
  type Lockbox,
  LockboxError,
  type MasterRotationResult,
  type ProgressListener,
  writeMasterKeyFile,
} from '@lockbox/core';
import type { Invocation } from '../context.js';
import { keyChangeInstructions, swapLines } from '../key-change-instructions.js';
import {
  KeyFileRotation,
  neededKeys,
  rotateFollowingKeyFiles,
  type SwapReport,
  type SwapStep,
} from '../key-file-rotation.js';
import { companionPaths, loadKeyring } from '../key-files.js';
import { finishing } from '../progress.js';
import { batchSizeOf, type ModeFlags, modeOf, progressFor } from './rotate-flags.js';
import {
  openingKeyring,
  type RotationKeyFlags,
  type RotationKeys,
  rotationKeys,
} from './rotate-keys.js';
import { describeMaster, plural } from './rotate-report.js';

export interface MasterFlags extends ModeFlags, RotationKeyFlags {
  keepKeyFiles?: boolean;
}

/** Observers of a rotation's progress, for the crash tests (kill -9 at each step). */
export interface RotationObservers {
  swapStep?: (step: SwapStep) => void;
  progress?: ProgressListener;
}

/** The key files of this configuration, unless --keep-key-files or the primary is not a file. */
async function keyFilesOf(
  invocation: Invocation,
  flags: MasterFlags,
  observers: RotationObservers,
) {
  if (flags.keepKeyFiles === true) return undefined;
  const paths = companionPaths(await invocation.config());
  return paths === undefined
    ? undefined
    : new KeyFileRotation(
        paths,
        observers.swapStep === undefined ? {} : { onStep: observers.swapStep },
      );
}

/**
 * The same rotation again, for instances that made data keys under the old key
 * before they were reconfigured: both keys named explicitly (by then the old key
 * is no longer the primary), by file when they are files.
 */
function rerunCommand(keys: RotationKeys): string {
  const file = (source: string | undefined) => (source?.includes('/') ? source : undefined);
  const old = file(keys.oldSource);
  const next = file(keys.generatedFile ?? keys.newSource);
  return `lockbox rotate master ${old === undefined ? '--old-key-env NAME' : `--old-key-file ${old}`} ${next === undefined ? '--new-key-env NAME' : `--new-key-file ${next}`}`;
}

export async function rotateMaster(
  invocation: Invocation,
  flags: MasterFlags,
  observers: RotationObservers = {},
): Promise<void> {
  const dryRun = flags.dryRun === true;
  const files = await keyFilesOf(invocation, flags, observers);
  const keys = await rotationKeys(flags, invocation, {
    dryRun,
    ...(files === undefined ? {} : { stagedKey: () => files.stagedKey() }),
  });
  try {
    const config = await invocation.config();
    const follow =
      files !== undefined &&
      keys.nextBytes !== undefined &&
      keys.old.fingerprint === (await files.primaryFingerprint());
    if (keys.forKeyFile === true && !follow) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'no new key: the old key given is not the configured key file, so that file cannot follow the rotation; pass --new-key-file, --new-key-env or --write-new-key-file FILE',
      );
    }
    const keyring = await openingKeyring(keys, async () => (await loadKeyring(config)).keyring);
    const lockbox = await invocation.open({ keyring });
    if (keys.generatedFile !== undefined && !dryRun) {
      // Written before anything is rotated, so the new key exists on disk first.
      await writeMasterKeyFile(keys.generatedFile, keys.nextBytes as Buffer, {
        force: flags.force === true,
      });
    }
    const progress = progressFor(invocation);
    const rotate = (dry: boolean) =>
      lockbox.rotation.rotateMaster({
        oldKey: keys.old,
        newKey: keys.next,
        mode: modeOf(flags),
        ...batchSizeOf(flags),
        dryRun: dry,
        ...(dry
          ? {}
          : {
              onProgress: (event) => {
                observers.progress?.(event);
                progress.onProgress(event);
              },
            }),
        actor: invocation.actor,
      });
    let swap: SwapReport | undefined;
    const result = await finishing(progress, async (): Promise<MasterRotationResult> => {
      try {
        if (!follow || dryRun) return await rotate(dryRun);
        const followed = await rotateFollowingKeyFiles(
          files,
          neededKeys(lockbox),
          keys.nextBytes as Buffer,
          rotate,
        );
        swap = followed.swap;
        return followed.result;
      } catch (err) {
        if (keys.generatedFile !== undefined && !dryRun) {
          await forgetUnusedKeyFile(lockbox, keys.generatedFile, keys.next.fingerprint);
        }
        throw err;
      }
    });
    const configuredPrimary = await loadKeyring(config).then(
      (loaded) => loaded.keyring.primary.fingerprint,
      () => undefined,
    );
    const shared = lockbox.vault.store.dialect === 'postgres';
    invocation.output.result({ ...result, keyFiles: swap ?? null }, (r) => {
      const lines = describeMaster(r);
      if (r.dryRun) return lines;
      lines.push(
        ...(swap !== undefined
          ? swapLines(swap, r.from, r.to, shared)
          : keyChangeInstructions({
              from: r.from,
              to: r.to,
              oldSource: keys.oldSource,
              newSource: keys.generatedFile ?? keys.newSource,
              primarySource: config.primaryKeySource,
              configuredPrimary,
              rerun: rerunCommand(keys),
            })),
      );
      return lines;
    });
    if (keys.generatedFile !== undefined && !dryRun) {
      invocation.output.note(
        `New master key written to ${keys.generatedFile} (mode 0600). Back it up now: without it (or a recovery identity) this store cannot be opened.`,
      );
    }
    if (!dryRun && result.dataKeys.remaining > 0) {
      invocation.output.warn(
        `${plural(result.dataKeys.remaining, 'data key')} were made under the old key meanwhile, by instances whose primary it still is: give them the new key as primary, then run this command again`,
      );
    }
  } finally {
    keys.nextBytes?.fill(0);
  }
}

/**
 * After `rotate resume` finished a master rotation: if the key files staged it
 * (`.next` holds the job's new key), complete the swap. Returns the lines to print.
 */
export async function followResumedRotation(
  invocation: Invocation,
  lockbox: Lockbox,
  result: MasterRotationResult,
): Promise<string[]> {
  const files = await keyFilesOf(invocation, {}, {});
  const staged = await files?.stagedKey();
  if (files === undefined || staged === undefined) return [];
  const matches = fingerprint(staged) === result.to;
  staged.fill(0);
  if (!matches) return [];
  const swap = await files.commit(neededKeys(lockbox));
  return swap === undefined
    ? []
    : swapLines(swap, result.from, result.to, lockbox.vault.store.dialect === 'postgres');
}

/** Removes a generated key file when the store never recorded its key (the rotation was refused). */
async function forgetUnusedKeyFile(
  lockbox: Lockbox,
  path: string,
  keyFingerprint: string,
): Promise<void> {
  // On a failed check keep the file: deleting a key the store may need loses data.
  const known = await lockbox.vault.isMasterKeyKnown(keyFingerprint).catch(() => true);
  if (!known) await unlink(path).catch(() => undefined);
}
