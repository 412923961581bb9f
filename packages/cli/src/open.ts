/**
 * Opening the store a command works on, from the resolved configuration.
 *
 * For SQLite, only `init` may create the database file: any other command on a
 * missing file is STORE_NOT_INITIALIZED, so a typo in --database does not leave
 * an empty store behind. Errors from the drivers themselves (a refused
 * connection, a directory that does not exist) become STORE_FAILED naming the
 * redacted location.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import {
  type Actor,
  connectStore,
  inspectStore,
  type Keyring,
  type Lockbox,
  LockboxError,
  openLockbox,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from '@lockbox/core';
import type { ResolvedConfig } from './config.js';
import { loadKeyring } from './key-files.js';
import { nodeDrivers } from './node-drivers.js';

export type OpenMode = 'open' | 'create';

export interface OpenFromConfigOptions {
  /** 'open' (default) refuses a store that does not exist; 'create' refuses one that does. */
  mode?: OpenMode;
  /** A keyring to use instead of the configured keys (init with a freshly generated key). */
  keyring?: Keyring;
  actor?: Actor;
  /** Append audit entries to a chain of this process's own (`lockbox serve`). */
  ownAuditChain?: boolean;
}

/**
 * The actor CLI writes are attributed to: the operating-system user, as the
 * audit entry's actor id (`cli:<user>`) and name (`<user>`).
 */
export function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // Containers may run under a uid without a passwd entry.
    user = `uid${process.getuid?.() ?? 'unknown'}`;
  }
  return { id: `cli:${user}`, name: user };
}

const WAYS_TO_GIVE_A_KEY =
  './lockbox.key, --master-key-file FILE, LOCKBOX_MASTER_KEY_FILE, masterKeyFile in lockbox.json, LOCKBOX_MASTER_KEY or --master-key-stdin';

/**
 * The master keys a store needs, read without any key (fingerprints are public):
 * those wrapping live data keys, else the recorded active ones. Empty when the
 * store cannot be read; this only improves a KEY_MISSING message.
 */
async function neededFingerprints(database: string): Promise<string[]> {
  const store = connectStore(database, nodeDrivers);
  try {
    return (await inspectStore(store)).neededFingerprints;
  } catch {
    return [];
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** KEY_MISSING that names the fingerprints the store needs and every way to give a key. */
async function keyMissing(config: ResolvedConfig, err: LockboxError): Promise<LockboxError> {
  const needed = await neededFingerprints(config.database);
  const which =
    needed.length === 0
      ? 'this store needs its master key'
      : `this store needs master key ${needed.join(' or ')}`;
  return new LockboxError(
    'KEY_MISSING',
    `no master key is configured; ${which}: give it as ${WAYS_TO_GIVE_A_KEY} (docs/cli.md, "Configuration")`,
    { cause: err, details: { needed } },
  );
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/**
 * Opens the configured store. Throws STORE_NOT_INITIALIZED (SQLite file missing,
 * or an empty database) in 'open' mode, STORE_ALREADY_INITIALIZED in 'create'
 * mode, KEY_MISSING without a configured key, KEY_WRONG when the keyring opens
 * none of the stored data keys, and STORE_FAILED when the database cannot be reached.
 */
export async function openFromConfig(
  config: ResolvedConfig,
  options: OpenFromConfigOptions = {},
): Promise<Lockbox> {
  const mode = options.mode ?? 'open';
  const parsed = parseDatabaseUrl(config.database);
  const location = redactDatabaseUrl(config.database);
  if (parsed.dialect === 'sqlite' && mode === 'open' && !existsSync(parsed.target)) {
    throw new LockboxError(
      'STORE_NOT_INITIALIZED',
      `${location} does not exist; run \`lockbox init\` to create a store (or pass --database)`,
      { details: { location } },
    );
  }
  let keyring: Keyring;
  try {
    keyring = options.keyring ?? (await loadKeyring(config)).keyring;
  } catch (err) {
    if (err instanceof LockboxError && err.code === 'KEY_MISSING' && mode === 'open') {
      throw await keyMissing(config, err);
    }
    throw err;
  }
  try {
    return await openLockbox({
      database: config.database,
      drivers: nodeDrivers,
      keyring,
      mode,
      actor: options.actor ?? cliActor(),
      // Every CLI write and read lands in the hash-chained audit log.
      audit: true,
      ownAuditChain: options.ownAuditChain === true,
    });
  } catch (err) {
    if (err instanceof LockboxError) throw err;
    // Driver messages name hosts, users and errno values, not passwords; the
    // location shown is redacted. Anything else stays in the cause.
    const errno = errnoOf(err);
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new LockboxError(
      'STORE_FAILED',
      `cannot open the database at ${location}: ${reason ?? ''}${errno === undefined || reason?.includes(errno) ? '' : ` (${errno})`}`,
      { cause: err, details: { location } },
    );
  }
}
