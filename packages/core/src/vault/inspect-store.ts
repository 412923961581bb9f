/**
 * What a tool may learn about a store without any key: whether it holds a
 * Lockbox store at all, its schema version, and which master keys it needs.
 * Fingerprints are public (they prove possession, they reveal nothing), so a
 * KEY_MISSING message can name them. Read-only: it never migrates or creates.
 */
import type { Store } from '../store/connect.js';
import { activeMasterKeyFingerprints } from '../store/master-key-rows.js';
import { getMeta } from '../store/meta-rows.js';
import { schemaVersion } from '../store/migrate.js';
import { fingerprintsWrappingLiveDataKeys } from './master-key-records.js';
import { META } from './store-meta.js';

export interface StoreInspection {
  /** true when the database holds an initialised Lockbox store. */
  initialised: boolean;
  /** The schema version applied (0 for an empty database). */
  schemaVersion: number;
  /**
   * Fingerprints of the master keys the store needs: those wrapping live data
   * keys, else the recorded active ones; sorted. Empty for an empty database.
   */
  neededFingerprints: string[];
}

export async function inspectStore(store: Store): Promise<StoreInspection> {
  const version = await schemaVersion(store);
  if (version === 0) return { initialised: false, schemaVersion: 0, neededFingerprints: [] };
  const initialised = (await getMeta(store.db, META.storeId)) !== undefined;
  return {
    initialised,
    schemaVersion: version,
    neededFingerprints: await neededFingerprints(store),
  };
}

async function neededFingerprints(store: Store): Promise<string[]> {
  const wrapping = await fingerprintsWrappingLiveDataKeys(store.db);
  if (wrapping.length > 0) return wrapping;
  return activeMasterKeyFingerprints(store.db);
}
