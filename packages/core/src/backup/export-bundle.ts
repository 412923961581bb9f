/**
 * Exporting secrets as a bundle: decrypted, written as JSON lines (see
 * bundle-format.ts) and age-encrypted in the same stream.
 *
 * Contracts:
 * - Plaintext exists only in memory, one page of records at a time; what reaches
 *   `output` is age ciphertext. Memory does not grow with the number of secrets.
 * - The export is one consistent read (consistent-read.ts): the header's counts
 *   equal the records that follow.
 * - Internal `lockbox:` scopes are never exported (they hold the instance's own
 *   keys).
 * - Registered fields' values follow the secrets, decrypted, with their row keys
 *   (export-field-values.ts): every registered field, or with a scope list the
 *   fields whose scope it names. The bundle is version 2 when it holds any field
 *   value, version 1 otherwise (so a secrets-only export still imports into an
 *   older Lockbox).
 * - A secret or field value that cannot be decrypted aborts the export with SECRET_UNDECRYPTABLE
 *   (a backup must not silently miss data). `output` is then aborted before age's
 *   final chunk, so whatever was written is a truncated age file that every
 *   reader refuses; the caller should delete it.
 */
import { nowIso } from '../clock.js';
import { LockboxError } from '../errors.js';
import type { Store } from '../store/connect.js';
import { countSecretsPerScope } from '../store/secret-row-counts.js';
import { secretRowsAfter } from '../store/secret-rows.js';
import { isInternalScope } from '../store/user-scope-filter.js';
import type { DataKeys } from '../vault/data-keys.js';
import type { Fields } from '../vault/fields.js';
import { validateUserScope } from '../vault/names.js';
import { openSecretRow } from '../vault/secret-row-codec.js';
import { type AgeEncryption, ageEncrypter } from './age-stream.js';
import { writeArchive } from './archive-writer.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  BUNDLE_VERSION_SECRETS_ONLY,
  type BundleHeader,
  encodeBundleRecord,
  encodeBundleTrailer,
} from './bundle-format.js';
import { consistentRead } from './consistent-read.js';
import {
  type FieldExportSummary,
  fieldValueLines,
  headerFields,
  planFieldExport,
} from './export-field-values.js';
import { jsonLine } from './json-lines.js';

export interface ExportOptions {
  encryption: AgeEncryption;
  /** Only these scopes (default: every user scope). */
  scopes?: readonly string[];
  /** Records per database page (default 1000). */
  pageSize?: number;
  /** Records (secrets, then field values) written so far, of `total`. */
  onProgress?: (progress: { records: number; total: number }) => void;
}

export interface ExportSummary {
  createdAt: string;
  sourceFingerprint: string;
  /** Secrets exported. */
  records: number;
  scopes: { scope: string; secrets: number }[];
  /** Field values exported, and per registered field what was and was not. */
  fieldValues: number;
  fields: FieldExportSummary[];
  /** Bytes of age ciphertext written. */
  bytes: number;
  /**
   * True when every user scope was exported (only such exports count as a
   * backup). An export that would skip a record of a scope it covers fails
   * instead of returning, so `complete` is never true for a partial bundle.
   */
  complete: boolean;
}

export interface ExportSource {
  store: Pick<Store, 'db' | 'dialect'>;
  dataKeys: DataKeys;
  fields: Pick<Fields, 'list'>;
  storeId: string;
  sourceFingerprint: string;
}

const DEFAULT_PAGE_SIZE = 1000;
const encoder = new TextEncoder();

async function* bundleChunks(
  source: ExportSource,
  scopes: readonly string[] | undefined,
  pageSize: number,
  summary: ExportSummary,
  onProgress: ExportOptions['onProgress'],
): AsyncGenerator<Uint8Array> {
  yield* consistentRead(source.store, async function* (trx) {
    // Counted without any scope filter and classified here, independently of the
    // SQL filter the pages use: if the two ever disagree, the export fails below
    // instead of silently leaving a scope out of a "complete" backup.
    summary.scopes = (await countSecretsPerScope(trx, scopes)).filter(
      (r) => !isInternalScope(r.scope),
    );
    const secrets = summary.scopes.reduce((sum, s) => sum + s.secrets, 0);
    const fields = await planFieldExport(trx, source.store.dialect, source.fields, scopes);
    summary.fields = fields.map((f) => f.summary);
    const fieldValues = summary.fields.reduce((sum, f) => sum + f.values, 0);
    const total = secrets + fieldValues;
    const withFields = fieldValues > 0;
    const header: BundleHeader = {
      format: BUNDLE_FORMAT,
      version: withFields ? BUNDLE_VERSION : BUNDLE_VERSION_SECRETS_ONLY,
      createdAt: summary.createdAt,
      sourceFingerprint: summary.sourceFingerprint,
      storeId: source.storeId,
      scopes: summary.scopes.map((s) => s.scope),
      counts: withFields ? { secrets, fields: fieldValues } : { secrets },
      ...(withFields ? { fields: headerFields(fields) } : {}),
    };
    yield encoder.encode(jsonLine(header));
    onProgress?.({ records: 0, total });

    let after: [string, string] | null = null;
    for (;;) {
      const rows = await secretRowsAfter(trx, {
        after,
        limit: pageSize,
        userScopesOnly: true,
        ...(scopes === undefined ? {} : { scopes }),
      });
      if (rows.length === 0) break;
      let text = '';
      for (const row of rows) {
        const plaintext = await openSecretRow(source.dataKeys, row, trx);
        const value = row.value_type === 'utf8' ? plaintext.toString('utf8') : plaintext;
        text += jsonLine(
          encodeBundleRecord({
            scope: row.scope,
            name: row.name,
            value,
            metadata:
              row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
            version: Number(row.version),
            updatedAt: row.updated_at,
          }),
        );
        if (typeof value === 'string') plaintext.fill(0);
      }
      summary.records += rows.length;
      yield encoder.encode(text);
      onProgress?.({ records: summary.records, total });
      const last = rows[rows.length - 1] as (typeof rows)[number];
      after = [last.scope, last.name];
      if (rows.length < pageSize) break;
    }
    if (summary.records !== secrets) {
      // Unreachable while isUserScope and isInternalScope agree; never a bundle
      // (or a "last complete export" stamp) that misses records.
      throw new LockboxError(
        'INTERNAL',
        `the export read ${summary.records} secrets but the store holds ${secrets} in the exported scopes; nothing was exported`,
        { details: { read: summary.records, expected: secrets } },
      );
    }
    for await (const text of fieldValueLines(trx, source.dataKeys, fields, pageSize, (n) => {
      summary.fieldValues += n;
    })) {
      yield encoder.encode(text);
      onProgress?.({ records: summary.records + summary.fieldValues, total });
    }
    yield encoder.encode(jsonLine(encodeBundleTrailer(summary.records + summary.fieldValues)));
  });
}

/**
 * Writes a bundle of the chosen scopes to `output` (closing it when done).
 * Throws RECIPIENT_INVALID / INVALID_ARGUMENT (bad encryption settings),
 * SCOPE_INVALID, SECRET_UNDECRYPTABLE, and whatever `output` fails with.
 */
export async function exportBundle(
  source: ExportSource,
  output: WritableStream<Uint8Array>,
  options: ExportOptions,
): Promise<ExportSummary> {
  const encrypter = ageEncrypter(options.encryption);
  const scopes = options.scopes?.map((scope) => validateUserScope(scope));
  if (scopes !== undefined && scopes.length === 0) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      'the scope list is empty; omit it to export every scope',
    );
  }
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const summary: ExportSummary = {
    createdAt: nowIso(),
    sourceFingerprint: source.sourceFingerprint,
    records: 0,
    scopes: [],
    fieldValues: 0,
    fields: [],
    bytes: 0,
    complete: scopes === undefined,
  };
  await writeArchive(
    bundleChunks(source, scopes, pageSize, summary, options.onProgress),
    encrypter,
    output,
    summary,
  );
  return summary;
}
