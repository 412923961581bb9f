/**
 * lockbox_meta entries whose value is authenticated under the integrity key: the
 * value under its key, the MAC under `<key>.mac`. Today that is the recovery
 * recipient (a forged one would receive every new data key).
 */
import type { Kysely } from 'kysely';
import { LockboxError } from '../errors.js';
import { deleteMeta, metaRows, setMeta } from '../store/meta-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { IntegrityKey } from './integrity-key.js';
import { META_MAC, rowMac, rowVerifies } from './row-macs.js';
import { META } from './store-meta.js';

type Db = Kysely<LockboxSchema>;

export type AuthenticatedValue =
  | { state: 'absent' }
  | { state: 'valid'; value: string }
  /** A value without a valid MAC, or a MAC without a value: never used. */
  | { state: 'broken' };

export function macKeyOf(key: string): string {
  return `${key}.mac`;
}

export async function getAuthenticatedMeta(
  db: Db,
  integrity: IntegrityKey,
  key: string,
): Promise<AuthenticatedValue> {
  const rows = await metaRows(db, [key, macKeyOf(key)]);
  const value = rows.find((r) => r.key === key)?.value;
  const mac = rows.find((r) => r.key === macKeyOf(key))?.value;
  if (value === undefined && mac === undefined) return { state: 'absent' };
  if (value !== undefined && rowVerifies(integrity, META_MAC, { key, value }, mac)) {
    return { state: 'valid', value };
  }
  return { state: 'broken' };
}

export async function setAuthenticatedMeta(
  db: Db,
  integrity: IntegrityKey,
  key: string,
  value: string,
): Promise<void> {
  await setMeta(db, key, value);
  await setMeta(db, macKeyOf(key), rowMac(integrity, META_MAC, { key, value }));
}

export async function deleteAuthenticatedMeta(db: Db, key: string): Promise<void> {
  await deleteMeta(db, key);
  await deleteMeta(db, macKeyOf(key));
}

/**
 * The authenticated recovery recipient, or undefined when none is set. Throws
 * RECOVERY_RECIPIENT_UNAUTHENTICATED when the stored one fails its check: no data
 * key is ever wrapped to it.
 */
export async function authenticatedRecipient(
  db: Db,
  integrity: IntegrityKey,
): Promise<string | undefined> {
  const stored = await getAuthenticatedMeta(db, integrity, META.recoveryRecipient);
  if (stored.state === 'broken') throw unauthenticatedRecipient();
  return stored.state === 'valid' ? stored.value : undefined;
}

export function unauthenticatedRecipient(): LockboxError {
  return new LockboxError(
    'RECOVERY_RECIPIENT_UNAUTHENTICATED',
    'the stored recovery recipient fails its integrity check (it was changed outside Lockbox); no data key is wrapped to it; set the real one with lockbox recovery replace',
    { details: { table: META_MAC.table, rowId: META.recoveryRecipient } },
  );
}
