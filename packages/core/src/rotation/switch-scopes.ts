/**
 * The switch step of a data re-key, for one batch of scopes (in scope order): the
 * scopes' active data keys become 'retiring' and each scope gets a new active
 * data key, at the next version, in the batch's transaction. Writers that ask for
 * the scope's active key after the commit get the new one.
 *
 * New keys are made here in bulk rather than one DataKeys.create at a time (three
 * statements each): wrapped under the keyring's primary and, when a recovery
 * recipient is set, to it as well — exactly what DataKeys.create does, with the
 * same checks (the primary not retired, the recipient authenticated).
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { nowIso } from '../clock.js';
import { dataKeyContext } from '../crypto/context.js';
import { DATA_KEY_BYTES } from '../crypto/wrapped-key.js';
import { wrapToRecipient } from '../keys/age-identity.js';
import type { Keyring } from '../keys/keyring.js';
import {
  type DataKeyRow,
  insertDataKeysUnlessVersionTaken,
  latestDataKeyVersions,
} from '../store/data-key-rows.js';
import { markScopesRetiring, scopesToSwitch } from '../store/data-key-state-rows.js';
import type { Executor } from '../store/executor.js';
import { isUserScope } from '../store/user-scope-filter.js';
import { authenticatedRecipient } from '../vault/authenticated-meta.js';
import type { OpenDataKey } from '../vault/data-keys.js';
import type { IntegrityKey } from '../vault/integrity-key.js';
import { usablePrimaryRecord } from '../vault/master-key-records.js';
import { recordActiveMasterKey } from './master-rotation.js';

type Db = Executor;

export interface SwitchOptions {
  /** The last scope switched by an earlier batch (exclusive), or null. */
  after: string | null;
  limit: number;
  /** Keys created after the job started are new ones and are not switched again. */
  startedAt: string;
  keyring: Keyring;
  /** Authenticates the recovery recipient (read per batch: current when keys are made). */
  integrity: IntegrityKey;
}

export interface SwitchedScopes {
  /** The scopes switched, in order (empty: the switch is complete). */
  scopes: string[];
  retired: number;
  /** The new active keys by scope (empty if a concurrent writer made one first). */
  created: Map<string, OpenDataKey>;
}

export async function switchScopes(trx: Db, options: SwitchOptions): Promise<SwitchedScopes> {
  const scopes = await scopesToSwitch(trx, isUserScope, options);
  const created = new Map<string, OpenDataKey>();
  if (scopes.length === 0) return { scopes, retired: 0, created };
  const latest = await latestDataKeyVersions(trx, scopes);
  const now = nowIso();
  const retired = await markScopesRetiring(trx, scopes, options.startedAt, now);
  const { keyring, integrity } = options;
  const masterRecord = await usablePrimaryRecord(
    trx,
    integrity,
    keyring.primary.fingerprint,
    scopes[0] as string,
  );
  const recipient = await authenticatedRecipient(trx, integrity);
  const rows: DataKeyRow[] = [];
  for (const scope of scopes) {
    const idBytes = randomBytes(8);
    const id = idBytes.toString('hex');
    const bytes = randomBytes(DATA_KEY_BYTES);
    rows.push({
      id,
      scope,
      version: (latest.get(scope) ?? 0) + 1,
      wrapped: keyring.wrap(bytes, dataKeyContext(scope, id)),
      master_fingerprint: keyring.primary.fingerprint,
      wrapped_recovery: recipient === undefined ? null : await wrapToRecipient(recipient, bytes),
      state: 'active',
      created_at: now,
      updated_at: now,
    });
    created.set(scope, { id, idBytes, key: createSecretKey(bytes) });
    bytes.fill(0);
  }
  if (masterRecord === undefined) {
    await recordActiveMasterKey(trx, integrity, keyring.primary.fingerprint);
  }
  const inserted = await insertDataKeysUnlessVersionTaken(trx, rows);
  // A writer that created a scope's key at the same version first wins; its key
  // is then the active one, found through DataKeys.activeFor instead.
  if (inserted !== rows.length) created.clear();
  return { scopes, retired, created };
}
