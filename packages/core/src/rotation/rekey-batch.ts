/**
 * Reading one batch of a data re-key and preparing its re-encryption: the rows
 * (secrets in primary-key order, or a field's "lb1:" rows in primary-key order),
 * which of them are on a retiring data key, and the request that re-encrypts
 * those under their scope's new key. Reading writes nothing, so in online mode
 * it runs outside the write transaction, ahead of it (the write's
 * compare-and-swap catches any row changed in between).
 */
import type { Kysely } from 'kysely';
import {
  CIPHERTEXT_TAG,
  type ParsedCiphertext,
  parseCiphertext,
  ROW_CIPHERTEXT_TAG,
} from '../crypto/ciphertext.js';
import { LockboxError } from '../errors.js';
import type { LockboxSchema } from '../store/schema.js';
import { secretRowsAfter } from '../store/secret-rows.js';
import type { OpenDataKey } from '../vault/data-keys.js';
import { secretContextFor } from '../vault/secret-ciphertext.js';
import type { FieldTable, KeyValues } from './field-table.js';
import { ReencryptBatch, type SealAs } from './reencrypt.js';
import type { RekeyKeys } from './rekey-keys.js';

type Db = Kysely<LockboxSchema>;

export type Cursor = [string, string] | KeyValues | null;

/** One row to rewrite: where it is, what it held, and the key id it will name. */
export interface RekeyTarget {
  /** [scope, name] of a secret, or the field row's key values. */
  key: readonly [string, string] | KeyValues;
  /** "scope/name" or the row key, for reports. */
  label: string;
  expected: string;
  newKeyId: string;
}

export interface PreparedBatch {
  /** Rows read (0: the walk of this table is complete). */
  read: number;
  /** The last row read, where the next batch starts. */
  last: Cursor;
  /** Rows on a retiring key, in the order of the request's items. */
  targets: RekeyTarget[];
  request: ReencryptBatch;
  /** Rows on a retiring key that cannot even be attempted (malformed, key missing). */
  failed: { label: string; code: string }[];
}

interface Candidate {
  key: readonly [string, string] | KeyValues;
  label: string;
  value: string;
  envelope: ParsedCiphertext;
  scope: string;
  context: Uint8Array;
  sealAs: SealAs;
}

/** Builds the request from rows already known to be on retiring keys. */
async function build(
  db: Db,
  keys: RekeyKeys,
  candidates: Candidate[],
  read: number,
  last: Cursor,
): Promise<PreparedBatch> {
  const oldKeys = await keys.open(
    db,
    candidates.map((c) => c.envelope.keyId),
  );
  const newKeys = await keys.active(
    db,
    candidates.map((c) => c.scope),
  );
  const request = new ReencryptBatch();
  const targets: RekeyTarget[] = [];
  const failed: { label: string; code: string }[] = [];
  for (const c of candidates) {
    const from = oldKeys.get(c.envelope.keyId);
    const to = newKeys.get(c.scope) as OpenDataKey;
    if (from === undefined || from instanceof LockboxError) {
      failed.push({ label: c.label, code: from?.code ?? 'DATA_KEY_NOT_FOUND' });
      continue;
    }
    request.add(c.value, c.context, from, to, c.sealAs);
    targets.push({ key: c.key, label: c.label, expected: c.value, newKeyId: to.id });
  }
  return { read, last, targets, request, failed };
}

export async function prepareSecrets(
  db: Db,
  keys: RekeyKeys,
  after: [string, string] | null,
  limit: number,
): Promise<PreparedBatch> {
  // Walked in primary-key order (never sorted): the cost stays linear in the rows.
  const rows = await secretRowsAfter(db, { after, limit });
  const lastRow = rows[rows.length - 1];
  const last: Cursor = lastRow === undefined ? after : [lastRow.scope, lastRow.name];
  const states = await keys.states(
    db,
    rows.map((r) => r.data_key_id),
  );
  const candidates: Candidate[] = [];
  const failed: { label: string; code: string }[] = [];
  for (const row of rows) {
    if (states.get(row.data_key_id) !== 'retiring') continue;
    const label = `${row.scope}/${row.name}`;
    try {
      const envelope = parseCiphertext(row.ciphertext);
      candidates.push({
        key: [row.scope, row.name],
        label,
        value: row.ciphertext,
        envelope,
        scope: row.scope,
        context: secretContextFor(envelope.tag, row),
        // The version is not changed by a re-key, so the new ciphertext binds the
        // one stored; the compare-and-swap on the old ciphertext keeps it so.
        sealAs: { tag: ROW_CIPHERTEXT_TAG, context: secretContextFor(ROW_CIPHERTEXT_TAG, row) },
      });
    } catch (err) {
      if (!(err instanceof LockboxError)) throw err;
      failed.push({ label, code: err.code });
    }
  }
  const batch = await build(db, keys, candidates, rows.length, last);
  batch.failed.push(...failed);
  return batch;
}

export async function prepareFieldRows(
  db: Db,
  keys: RekeyKeys,
  table: FieldTable,
  after: KeyValues | null,
  limit: number,
): Promise<PreparedBatch> {
  const rows = await table.readBatch(db, 'lockbox', after, limit);
  const lastRow = rows[rows.length - 1];
  const last: Cursor = lastRow === undefined ? after : lastRow.key;
  // A malformed value names no key: no data key can open it, and the census reports it.
  const parsed = rows.map((row) => {
    try {
      return parseCiphertext(row.value);
    } catch {
      return undefined;
    }
  });
  const states = await keys.states(
    db,
    parsed.flatMap((p) => (p === undefined ? [] : [p.keyId])),
  );
  const { scope } = table.field;
  const candidates: Candidate[] = [];
  for (const [i, row] of rows.entries()) {
    const envelope = parsed[i];
    if (envelope === undefined || states.get(envelope.keyId) !== 'retiring') continue;
    const context = table.context(row.key);
    candidates.push({
      key: row.key,
      label: table.describe(row.key),
      value: row.value,
      envelope,
      scope,
      context,
      sealAs: { tag: CIPHERTEXT_TAG, context },
    });
  }
  return build(db, keys, candidates, rows.length, last);
}
