/**
 * The startup key check: prove that the configured keyring opens the stored data
 * keys before serving anything, and say which previous keys nothing needs.
 *
 * Read-only: a refused open writes nothing to the database.
 */
import type { Kysely } from 'kysely';
import { LockboxError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { liveDataKeyCountsByMaster, someLiveDataKeyUnder } from '../store/data-key-state-rows.js';
import { activeMasterKeyFingerprints } from '../store/master-key-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { unwrapDataKeyRow } from './data-key-unwrap.js';

export interface KeyCheck {
  /** Fingerprints of master keys that wrap at least one live data key, with counts. */
  needed: { fingerprint: string; dataKeys: number; inKeyring: boolean }[];
  /** Previous keys in the keyring that no data key needs (safe to drop). */
  unusedPreviousKeys: string[];
  primary: string;
}

export async function inspectKeys(db: Kysely<LockboxSchema>, keyring: Keyring): Promise<KeyCheck> {
  const rows = await liveDataKeyCountsByMaster(db);
  const needed = rows
    .filter((r) => r.master_fingerprint !== null)
    .map((r) => ({
      fingerprint: r.master_fingerprint as string,
      dataKeys: Number(r.count),
      inKeyring: keyring.has(r.master_fingerprint as string),
    }))
    .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
  const neededSet = new Set(needed.map((n) => n.fingerprint));
  return {
    needed,
    unusedPreviousKeys: keyring.previous.map((k) => k.fingerprint).filter((f) => !neededSet.has(f)),
    primary: keyring.primary.fingerprint,
  };
}

/**
 * Refuses (KEY_WRONG, naming the fingerprints needed) when any live data key is
 * wrapped under a master key the keyring lacks, or — for a store with no data keys
 * yet — when the keyring holds none of the master keys the store was set up with.
 * Then unwraps one data key per needed master key, to prove the key really opens it.
 */
export async function checkKeyring(db: Kysely<LockboxSchema>, keyring: Keyring): Promise<KeyCheck> {
  const check = await inspectKeys(db, keyring);
  const missing = check.needed.filter((n) => !n.inKeyring).map((n) => n.fingerprint);
  if (missing.length > 0) {
    throw new LockboxError(
      'KEY_WRONG',
      `the keyring (${keyring.fingerprints().join(', ')}) lacks master key ${missing.join(', ')}, which stored data keys need`,
      { details: { needed: missing, configured: keyring.fingerprints() } },
    );
  }
  if (check.needed.length === 0) {
    const known = await activeMasterKeyFingerprints(db);
    if (known.length > 0 && !known.some((f) => keyring.has(f))) {
      throw new LockboxError(
        'KEY_WRONG',
        `the keyring (${keyring.fingerprints().join(', ')}) holds none of this store's master keys (${known.join(', ')})`,
        { details: { needed: known, configured: keyring.fingerprints() } },
      );
    }
  }
  for (const { fingerprint } of check.needed) {
    const sample = await someLiveDataKeyUnder(db, fingerprint);
    unwrapDataKeyRow(keyring, sample);
  }
  return check;
}
