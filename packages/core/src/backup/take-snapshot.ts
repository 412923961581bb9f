/**
 * Taking a snapshot: the store's user data keys (wrapped), field registrations
 * and secret rows (ciphertexts), copied as they are — nothing is decrypted, so no
 * key is needed beyond opening the store — in one consistent read, streamed.
 *
 * Not included: the internal `lockbox:` scopes (the audit key belongs to its
 * instance), the audit log, API tokens and rotation jobs. The application's own
 * tables, where field ciphertexts live, move with the application's data.
 */
import { nowIso } from '../clock.js';
import type { Store } from '../store/connect.js';
import {
  userDataKeyCount,
  userDataKeysAfter,
  userMasterFingerprints,
} from '../store/data-key-backup-rows.js';
import { allFieldRows } from '../store/field-rows.js';
import { getMeta } from '../store/meta-rows.js';
import { countSecrets } from '../store/secret-row-counts.js';
import { secretRowsAfter } from '../store/secret-rows.js';
import { isUserScope } from '../store/user-scope-filter.js';
import { META } from '../vault/store-meta.js';
import { type AgeEncryption, ageEncrypter } from './age-stream.js';
import { writeArchive } from './archive-writer.js';
import { consistentRead } from './consistent-read.js';
import { jsonLine } from './json-lines.js';
import {
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  type SnapshotDataKey,
  type SnapshotField,
  type SnapshotHeader,
  type SnapshotSecret,
} from './snapshot-format.js';

export interface SnapshotOptions {
  /** age encryption (default and recommended), or 'none' for plain JSON lines. */
  encryption: AgeEncryption | 'none';
  pageSize?: number;
  onProgress?: (progress: { records: number; total: number }) => void;
}

export interface SnapshotSummary {
  createdAt: string;
  counts: SnapshotHeader['counts'];
  masterFingerprints: string[];
  bytes: number;
  encrypted: boolean;
}

export interface SnapshotSource {
  store: Pick<Store, 'db' | 'dialect'>;
  storeId: string;
  schemaVersion: number;
}

const DEFAULT_PAGE_SIZE = 1000;
const encoder = new TextEncoder();

async function* snapshotChunks(
  source: SnapshotSource,
  pageSize: number,
  summary: SnapshotSummary,
  onProgress: SnapshotOptions['onProgress'],
): AsyncGenerator<Uint8Array> {
  yield* consistentRead(source.store, async function* (trx) {
    const fields: SnapshotField[] = (await allFieldRows(trx)).map((r) => ({
      type: 'field',
      table: r.table_name,
      column: r.column_name,
      primaryKey: r.primary_key,
      scope: r.scope,
      createdAt: r.created_at,
    }));
    summary.masterFingerprints = await userMasterFingerprints(trx, isUserScope);
    summary.counts = {
      dataKeys: await userDataKeyCount(trx, isUserScope),
      fields: fields.length,
      secrets: await countSecrets(trx, { userScopesOnly: true }),
    };
    const total = summary.counts.dataKeys + summary.counts.fields + summary.counts.secrets;
    const header: SnapshotHeader = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      createdAt: summary.createdAt,
      storeId: source.storeId,
      schemaVersion: source.schemaVersion,
      masterFingerprints: summary.masterFingerprints,
      recoveryRecipient: (await getMeta(trx, META.recoveryRecipient)) ?? null,
      counts: summary.counts,
    };
    yield encoder.encode(jsonLine(header));
    let records = 0;

    let afterKey: string | undefined;
    for (;;) {
      const rows = await userDataKeysAfter(trx, isUserScope, afterKey, pageSize);
      if (rows.length === 0) break;
      yield encoder.encode(
        rows
          .map((r) => {
            const row: SnapshotDataKey = {
              type: 'dataKey',
              id: r.id,
              scope: r.scope,
              version: Number(r.version),
              wrapped: r.wrapped,
              masterFingerprint: r.master_fingerprint,
              wrappedRecovery: r.wrapped_recovery,
              state: r.state,
              createdAt: r.created_at,
              updatedAt: r.updated_at,
            };
            return jsonLine(row);
          })
          .join(''),
      );
      records += rows.length;
      onProgress?.({ records, total });
      afterKey = (rows[rows.length - 1] as (typeof rows)[number]).id;
      if (rows.length < pageSize) break;
    }
    yield encoder.encode(fields.map((f) => jsonLine(f)).join(''));
    records += fields.length;

    let after: [string, string] | null = null;
    for (;;) {
      const rows = await secretRowsAfter(trx, { after, limit: pageSize, userScopesOnly: true });
      if (rows.length === 0) break;
      yield encoder.encode(
        rows
          .map((r) => {
            const row: SnapshotSecret = {
              type: 'secret',
              scope: r.scope,
              name: r.name,
              version: Number(r.version),
              valueType: r.value_type,
              ciphertext: r.ciphertext,
              dataKeyId: r.data_key_id,
              metadata: r.metadata,
              createdAt: r.created_at,
              updatedAt: r.updated_at,
              updatedBy: r.updated_by,
            };
            return jsonLine(row);
          })
          .join(''),
      );
      records += rows.length;
      onProgress?.({ records, total });
      const last = rows[rows.length - 1] as (typeof rows)[number];
      after = [last.scope, last.name];
      if (rows.length < pageSize) break;
    }
    yield encoder.encode(jsonLine({ end: true, records }));
  });
}

/** Writes a snapshot to `output` (closing it when done). */
export async function takeSnapshot(
  source: SnapshotSource,
  output: WritableStream<Uint8Array>,
  options: SnapshotOptions,
): Promise<SnapshotSummary> {
  const encrypter = options.encryption === 'none' ? undefined : ageEncrypter(options.encryption);
  const summary: SnapshotSummary = {
    createdAt: nowIso(),
    counts: { dataKeys: 0, fields: 0, secrets: 0 },
    masterFingerprints: [],
    bytes: 0,
    encrypted: encrypter !== undefined,
  };
  await writeArchive(
    snapshotChunks(source, options.pageSize ?? DEFAULT_PAGE_SIZE, summary, options.onProgress),
    encrypter,
    output,
    summary,
  );
  return summary;
}
