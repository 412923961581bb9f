/**
 * The master-rotation hook `lockbox serve` gives the server: a rotation over
 * HTTP (POST /v1/rotation/master or /resume) from the key in the configured key
 * file makes the key files follow it, exactly as `lockbox rotate master` does
 * (key-file-rotation.ts), so the next restart opens the store with no change.
 * Keys from the environment or stdin are left alone; the log then says what to
 * change before the next restart.
 */
import { fingerprint, type Lockbox, parseMasterKey } from '@lockbox/core';
import type { KeyConfigurationChange, MasterRotationHook } from '@lockbox/server';
import type { ResolvedConfig } from './config.js';
import { KeyFileRotation, neededKeys, rotateFollowingKeyFiles } from './key-file-rotation.js';
import { companionPaths } from './key-files.js';

function unchanged(from: string, to: string): KeyConfigurationChange {
  return {
    followed: false,
    message: `master key rotated from ${from} to ${to}; the key configuration was not changed: make ${to} the primary key and keep ${from} as a previous key before this instance restarts (docs/operations.md)`,
  };
}

function followed(files: KeyFileRotation, from: string, to: string): KeyConfigurationChange {
  return {
    followed: true,
    message: `master key rotated from ${from} to ${to}; ${files.paths.primary} now holds the new key and ${files.paths.previous} the old one (delete it when \`lockbox doctor\` says it is no longer needed)`,
  };
}

export function keyFileRotationHook(
  config: ResolvedConfig,
  lockbox: () => Promise<Lockbox>,
): MasterRotationHook {
  const paths = companionPaths(config);
  const files = paths === undefined ? undefined : new KeyFileRotation(paths);
  return {
    async masterRotation(keys, rotate) {
      const oldKey = parseMasterKey(keys.oldKey, 'old key');
      let fromKeyFile: boolean;
      try {
        fromKeyFile =
          files !== undefined && fingerprint(oldKey) === (await files.primaryFingerprint());
      } finally {
        oldKey.fill(0);
      }
      if (files === undefined || !fromKeyFile) {
        const result = await rotate(false);
        return { result, change: unchanged(result.from, result.to) };
      }
      const newKey = parseMasterKey(keys.newKey, 'new key');
      try {
        const { result, swap } = await rotateFollowingKeyFiles(
          files,
          neededKeys(await lockbox()),
          newKey,
          rotate,
        );
        return {
          result,
          change:
            swap === undefined
              ? unchanged(result.from, result.to)
              : followed(files, result.from, result.to),
        };
      } finally {
        newKey.fill(0);
      }
    },
    async masterResumed(result) {
      const staged = await files?.stagedKey();
      if (files === undefined || staged === undefined) return unchanged(result.from, result.to);
      const matches = fingerprint(staged) === result.to;
      staged.fill(0);
      if (!matches) return unchanged(result.from, result.to);
      const swap = await files.commit(neededKeys(await lockbox()));
      return swap === undefined
        ? unchanged(result.from, result.to)
        : followed(files, result.from, result.to);
    },
  };
}
