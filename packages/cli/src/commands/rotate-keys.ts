/**
 * Where `lockbox rotate` gets the keys it rotates between. Never from a flag's
 * value (shell history, `ps`): from key files, named environment variables, or
 * stdin (`--keys-stdin`: two lines, old then new). Without an old-key flag the old
 * key is the configured primary; `--write-new-key-file` generates the new key.
 * Without a new-key flag, when the key files follow the rotation
 * (key-file-rotation.ts), the new key is the one an interrupted rotation staged
 * in `<key file>.next`, else a freshly generated one. `--old-key-uri` /
 * `--new-key-uri` name a key in a PKCS#11 token (an HSM): rotating into it,
 * out of it (an exit plan) or between two tokens; a configured `masterKeyUri`
 * is the default old key like a configured key file.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  generateMasterKey,
  Keyring,
  LockboxError,
  type MasterKey,
  masterKeyFrom,
  masterKeyFromEnv,
  masterKeyFromFile,
  Pkcs11MasterKey,
  parseMasterKey,
} from '@lockbox/core';
import type { Invocation } from '../context.js';

export interface RotationKeyFlags {
  oldKeyFile?: string;
  oldKeyEnv?: string;
  oldKeyUri?: string;
  newKeyFile?: string;
  newKeyEnv?: string;
  newKeyUri?: string;
  keysStdin?: boolean;
  writeNewKeyFile?: string;
  force?: boolean;
}

export interface RotationKeys {
  old: MasterKey;
  next: MasterKey;
  /** The new key's bytes when it is a local key (to write a generated key file or swap one); zeroed after. */
  nextBytes?: Buffer;
  /** Where each came from, for messages ("file /x/new.key", "LOCKBOX_NEW_KEY", "stdin"). */
  oldSource: string;
  newSource: string;
  /** The file to write the generated new key to (written before anything rotates). */
  generatedFile?: string;
  /** The new key is for the key file (generated, or staged by an interrupted rotation). */
  forKeyFile?: boolean;
}

export interface RotationKeyOptions {
  dryRun: boolean;
  /**
   * When the configured key file follows the rotation: the key staged by an
   * interrupted rotation, if any. Without it, a new-key flag is required.
   */
  stagedKey?: () => Promise<Buffer | undefined>;
}

/** A local master key from raw bytes, which are zeroed (the key object holds its own copy). */
function local(bytes: Buffer): MasterKey {
  try {
    return masterKeyFrom(bytes);
  } finally {
    bytes.fill(0);
  }
}

function exclusive(what: string, given: readonly (string | boolean | undefined)[]): void {
  if (given.filter((g) => g !== undefined && g !== false).length > 1) {
    throw new LockboxError('INVALID_ARGUMENT', `give the ${what} one way only`);
  }
}

async function readTwoStdinLines(invocation: Invocation): Promise<[string, string]> {
  if (invocation.globals.masterKeyStdin === true) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      '--keys-stdin and --master-key-stdin both want stdin; pass the configured key another way',
    );
  }
  const bytes = await invocation.readSecret('the old and new keys (two lines)', {
    maxBytes: 4096,
  });
  try {
    const lines = bytes
      .toString('utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '');
    if (lines.length !== 2) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `--keys-stdin expects exactly two lines (old key, then new key), got ${lines.length}`,
      );
    }
    return lines as [string, string];
  } finally {
    bytes.fill(0);
  }
}

/** Resolves the old and new keys from the flags (and the configuration for the old key). */
export async function rotationKeys(
  flags: RotationKeyFlags,
  invocation: Invocation,
  options: RotationKeyOptions,
): Promise<RotationKeys> {
  exclusive('old key', [flags.oldKeyFile, flags.oldKeyEnv, flags.oldKeyUri, flags.keysStdin]);
  exclusive('new key', [
    flags.newKeyFile,
    flags.newKeyEnv,
    flags.newKeyUri,
    flags.keysStdin,
    flags.writeNewKeyFile,
  ]);
  const cwd = invocation.io.cwd;
  let stdin: [string, string] | undefined;
  if (flags.keysStdin === true) stdin = await readTwoStdinLines(invocation);

  let old: MasterKey;
  let oldSource: string;
  if (stdin !== undefined) {
    old = local(parseMasterKey(stdin[0], 'old key (stdin line 1)'));
    oldSource = 'stdin';
  } else if (flags.oldKeyFile !== undefined) {
    oldSource = resolve(cwd, flags.oldKeyFile);
    old = local(await masterKeyFromFile(oldSource));
  } else if (flags.oldKeyEnv !== undefined) {
    old = local(masterKeyFromEnv(flags.oldKeyEnv, invocation.io.env));
    oldSource = flags.oldKeyEnv;
  } else if (flags.oldKeyUri !== undefined) {
    old = await Pkcs11MasterKey.open(flags.oldKeyUri);
    oldSource = 'the PKCS#11 key given by --old-key-uri';
  } else {
    // The configured primary is the key being rotated away from.
    const config = await invocation.config();
    const { primary, primaryFile, primaryUri } = config.keys;
    if (primary === undefined && primaryFile === undefined && primaryUri === undefined) {
      throw new LockboxError(
        'KEY_MISSING',
        'no old key: pass --old-key-file, --old-key-env, --old-key-uri or --keys-stdin, or configure the current master key',
      );
    }
    old =
      primaryUri !== undefined
        ? await Pkcs11MasterKey.open(primaryUri)
        : local(
            primary !== undefined
              ? parseMasterKey(primary, 'configured master key')
              : await masterKeyFromFile(primaryFile as string),
          );
    oldSource = config.primaryKeySource ?? 'the configured primary key';
  }

  let next: Buffer | undefined;
  let nextKey: MasterKey | undefined;
  let newSource: string;
  let generatedFile: string | undefined;
  if (stdin !== undefined) {
    next = parseMasterKey(stdin[1], 'new key (stdin line 2)');
    newSource = 'stdin';
  } else if (flags.newKeyFile !== undefined) {
    newSource = resolve(cwd, flags.newKeyFile);
    next = await masterKeyFromFile(newSource);
  } else if (flags.newKeyEnv !== undefined) {
    next = masterKeyFromEnv(flags.newKeyEnv, invocation.io.env);
    newSource = flags.newKeyEnv;
  } else if (flags.newKeyUri !== undefined) {
    nextKey = await Pkcs11MasterKey.open(flags.newKeyUri);
    newSource = 'the PKCS#11 key given by --new-key-uri';
  } else if (flags.writeNewKeyFile !== undefined) {
    generatedFile = resolve(cwd, flags.writeNewKeyFile);
    if (!options.dryRun && existsSync(generatedFile) && flags.force !== true) {
      throw new LockboxError(
        'KEY_FILE_EXISTS',
        `${generatedFile} exists; choose another file or pass --force (its key would be lost)`,
        { details: { path: generatedFile } },
      );
    }
    next = generateMasterKey();
    newSource = generatedFile;
  } else if (options.stagedKey !== undefined) {
    const staged = await options.stagedKey();
    next = staged ?? generateMasterKey();
    newSource = staged === undefined ? 'generated' : 'staged';
  } else {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      'no new key: pass --new-key-file, --new-key-env, --new-key-uri, --keys-stdin or --write-new-key-file FILE (one is generated only when the primary key comes from a key file that follows the rotation)',
    );
  }
  return {
    old,
    // Not `local`: the bytes stay alive for the key file; rotate-master zeroes them.
    next: nextKey ?? masterKeyFrom(next as Buffer),
    ...(next === undefined ? {} : { nextBytes: next }),
    oldSource,
    newSource,
    ...(generatedFile ? { generatedFile } : {}),
    ...(newSource === 'generated' || newSource === 'staged' ? { forKeyFile: true } : {}),
  };
}

/**
 * The keyring to open the store with during a master rotation: the old key as
 * primary (it opens the data keys not yet rewrapped), the new key and every
 * configured key as previous (a resumed rotation has data keys under both).
 */
export async function openingKeyring(
  keys: RotationKeys,
  configured: () => Promise<Keyring>,
): Promise<Keyring> {
  const old = keys.old;
  const extra: MasterKey[] = [keys.next];
  try {
    extra.push(...(await configured()).all());
  } catch (err) {
    // A store may be rotated from flags alone, with nothing configured.
    if (!(err instanceof LockboxError && err.code === 'KEY_MISSING')) throw err;
  }
  const seen = new Set([old.fingerprint]);
  const previous = extra.filter((k) => {
    if (seen.has(k.fingerprint)) return false;
    seen.add(k.fingerprint);
    return true;
  });
  return new Keyring(old, previous);
}
