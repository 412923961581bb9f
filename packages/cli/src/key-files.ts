/**
 * The keyring the CLI opens stores with, and the key files that follow a master
 * rotation.
 *
 * When the primary master key comes from a key file (./lockbox.key as `init`
 * writes it, or --master-key-file, LOCKBOX_MASTER_KEY_FILE, masterKeyFile), two
 * companion files next to it join the keyring as previous keys whenever they
 * exist:
 *
 *   <key file>.previous  the master key before the last rotation, kept until
 *                        `lockbox doctor` says nothing needs it;
 *   <key file>.next      the new key of a rotation that has not finished
 *                        swapping the files yet (see key-file-rotation.ts).
 *
 * A companion holding the same key as another configured key is skipped rather
 * than refused (KEY_DUPLICATE): mid-swap, two files briefly hold the same key,
 * and that must still open the store. Keys given explicitly (flags, environment,
 * config file) are refused when duplicated, as before.
 */
import { existsSync } from 'node:fs';
import {
  Keyring,
  keyringFromConfig,
  type MasterKey,
  masterKeyFrom,
  masterKeyFromFile,
} from '@lockbox/core';
import type { ResolvedConfig } from './config.js';

/** The companion files of a primary key file. */
export interface KeyFilePaths {
  primary: string;
  previous: string;
  next: string;
}

export function keyFilePaths(primary: string): KeyFilePaths {
  return { primary, previous: `${primary}.previous`, next: `${primary}.next` };
}

/** The companion key files of this configuration: only when the primary is a key file. */
export function companionPaths(config: Pick<ResolvedConfig, 'keys'>): KeyFilePaths | undefined {
  const file = config.keys.primaryFile;
  return file === undefined ? undefined : keyFilePaths(file);
}

export interface LoadedKeyring {
  keyring: Keyring;
  /** Where each key came from (fingerprint → variable, file path or "stdin"), for messages. */
  sources: Map<string, string>;
}

/**
 * Builds the configured keyring: the explicit keys (keyringFromConfig, with its
 * errors: KEY_MISSING, KEY_DUPLICATE, a bad key file…) plus the companion files
 * that exist. A companion that cannot be read is an error too: a key the store
 * may need must not be skipped silently.
 */
export async function loadKeyring(
  config: Pick<ResolvedConfig, 'keys' | 'primaryKeySource'>,
): Promise<LoadedKeyring> {
  const base = await keyringFromConfig(config.keys);
  const sources = new Map<string, string>();
  sources.set(base.primary.fingerprint, config.primaryKeySource ?? 'the configured primary key');
  const explicitPrevious = [...(config.keys.previous ?? []).map(() => 'LOCKBOX_PREVIOUS_KEYS')];
  explicitPrevious.push(...(config.keys.previousFiles ?? []));
  explicitPrevious.push(
    ...(config.keys.previousUris ?? []).map((uri) => uri.split('?')[0] as string),
  );
  base.previous.forEach((key, index) => {
    sources.set(key.fingerprint, explicitPrevious[index] ?? 'a previous key');
  });
  const paths = companionPaths(config);
  if (paths === undefined) return { keyring: base, sources };
  const extra: MasterKey[] = [];
  for (const path of [paths.previous, paths.next]) {
    if (!existsSync(path)) continue;
    const bytes = await masterKeyFromFile(path);
    try {
      const key = masterKeyFrom(bytes);
      if (sources.has(key.fingerprint)) continue;
      sources.set(key.fingerprint, path);
      extra.push(key);
    } finally {
      bytes.fill(0);
    }
  }
  const keyring =
    extra.length === 0 ? base : new Keyring(base.primary, [...base.previous, ...extra]);
  return { keyring, sources };
}
