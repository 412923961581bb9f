/**
 * Importing a bundle: preview (what would change, per scope; writes nothing) and
 * apply (one transaction, with a conflict policy).
 *
 * Each record is classified against the target store:
 *   create     — the target has no secret at that scope and name
 *   unchanged  — the target holds the same value, type and metadata
 *   conflict   — the target differs and was changed after the bundle's record
 *                (its updated_at is later than the record's updatedAt), or the
 *                target's value cannot be decrypted: overwriting would lose
 *                something nobody has seen
 *   overwrite  — the target differs and is not newer (or the record has no updatedAt)
 *
 * Policies (apply): `skip` writes only creates; `overwrite` writes creates,
 * overwrites and conflicts; `fail` (the default) refuses the whole import with
 * IMPORT_CONFLICT if there is any conflict, and otherwise writes creates and
 * overwrites. Unchanged records are never written.
 *
 * Field value records (bundle version 2) go to import-field-values.ts, in the
 * same run and transaction: rows the target has are updated, others reported.
 *
 * Apply runs in one transaction and commits only after the whole bundle has
 * been read and authenticated; any refusal rolls it back, so a bad bundle writes
 * nothing. Values are re-encrypted with the target's own data keys (a different
 * master key is fine); the target assigns versions and timestamps.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Insertable, Kysely } from 'kysely';
import { nowIso } from '../clock.js';
import { LockboxError } from '../errors.js';
import type { Store } from '../store/connect.js';
import type { LockboxSchema, SecretTable } from '../store/schema.js';
import type { Actor } from '../vault/audit-sink.js';
import type { DataKeys, OpenDataKey } from '../vault/data-keys.js';
import type { Fields } from '../vault/fields.js';
import type { AgeDecryption, ByteSource } from './age-stream.js';
import type { BundleHeader, BundleRecord } from './bundle-format.js';
import { readBundle } from './bundle-reader.js';
import { canonicalJson } from './canonical-json.js';
import type { FieldValueRecord } from './field-record.js';
import { type FieldImportCounts, FieldValueImport } from './import-field-values.js';
import { decryptSecretRow, encryptSecretValue } from './secret-rows.js';

export type ConflictPolicy = 'skip' | 'overwrite' | 'fail';
export type ImportAction = 'create' | 'overwrite' | 'unchanged' | 'conflict';
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['skip', 'overwrite', 'fail'];

export interface ImportOptions {
  decryption: AgeDecryption;
  /** What apply does about conflicts (default 'fail'); preview reports what it would do. */
  policy?: ConflictPolicy;
  maxBytes?: number;
  maxValueBytes?: number;
  /** Recorded as `updated_by` (default "import"). */
  actor?: Actor;
  /** Records per database round trip (default 500). */
  batchSize?: number;
  onProgress?: (progress: { records: number; bytes: number }) => void;
  /**
   * Called once per distinct scope, as records are read and before any of that
   * scope's records is compared with the target or written; throwing (for
   * example PERMISSION_DENIED) aborts the import with nothing reported and, for
   * apply, nothing written. The server passes the caller's token check here:
   * a preview's unchanged/overwrite/create answers reveal whether a secret
   * exists and whether a guessed value is right, so they need read access.
   */
  authorize?: (scope: string) => void;
}

export interface ScopeImportCounts {
  scope: string;
  create: number;
  overwrite: number;
  unchanged: number;
  conflict: number;
}

export interface ImportConflict {
  scope: string;
  name: string;
  reason: 'newer-in-target' | 'undecryptable-in-target';
}

export interface ImportReport {
  mode: 'preview' | 'apply';
  policy: ConflictPolicy;
  bundle: Omit<BundleHeader, 'format' | 'counts'> & { records: number };
  totals: Omit<ScopeImportCounts, 'scope'>;
  scopes: ScopeImportCounts[];
  /** The first conflicts found (at most 100), to review before choosing a policy. */
  conflicts: ImportConflict[];
  conflictsTruncated: boolean;
  /** What apply wrote (apply) or would write (preview) under the policy. */
  writes: { create: number; overwrite: number; fieldValues: number };
  /** Per field of the bundle's field values (version 2), in the order first seen. */
  fields: FieldImportCounts[];
  fieldTotals: Pick<
    FieldImportCounts,
    'values' | 'update' | 'unchanged' | 'missingRow' | 'unregistered'
  >;
}

export interface ImportTarget {
  store: Pick<Store, 'db' | 'dialect'>;
  dataKeys: DataKeys;
  fields: Pick<Fields, 'find'>;
}

const MAX_LISTED_CONFLICTS = 100;
const DEFAULT_BATCH = 500;

type Db = Kysely<LockboxSchema>;

interface Classified {
  record: BundleRecord;
  action: ImportAction;
  /** The target's row when there is one: an overwrite stores the next version, bound into its ciphertext. */
  stored?: { version: number; createdAt: string };
}

function pairKey(scope: string, name: string): string {
  return `${scope}\u0000${name}`;
}

function sameValue(record: BundleRecord, type: string, stored: Buffer): boolean {
  const recordType = typeof record.value === 'string' ? 'utf8' : 'bytes';
  if (recordType !== type) return false;
  const bytes = typeof record.value === 'string' ? Buffer.from(record.value, 'utf8') : record.value;
  return bytes.equals(stored);
}

class ImportRun {
  readonly report: ImportReport;
  readonly #target: ImportTarget;
  readonly #db: Db;
  readonly #write: boolean;
  readonly #actor: string;
  readonly #now = nowIso();
  readonly #keys = new Map<string, OpenDataKey>();
  readonly #byScope = new Map<string, ScopeImportCounts>();
  readonly #fields: FieldValueImport;
  #conflictSeen = false;

  constructor(target: ImportTarget, db: Db, mode: 'preview' | 'apply', options: ImportOptions) {
    this.#target = target;
    this.#db = db;
    this.#fields = new FieldValueImport(target, db, mode === 'apply', options.authorize);
    this.#write = mode === 'apply';
    this.#actor = options.actor?.id ?? 'import';
    this.report = {
      mode,
      policy: options.policy ?? 'fail',
      bundle: { version: 0, records: 0 },
      totals: { create: 0, overwrite: 0, unchanged: 0, conflict: 0 },
      scopes: [],
      conflicts: [],
      conflictsTruncated: false,
      writes: { create: 0, overwrite: 0, fieldValues: 0 },
      fields: [],
      fieldTotals: { values: 0, update: 0, unchanged: 0, missingRow: 0, unregistered: 0 },
    };
  }

  /** Field values: written under `fail` (until a conflict is seen) and `overwrite`, never under `skip`. */
  async fieldBatch(records: FieldValueRecord[]): Promise<void> {
    const writes =
      this.report.policy === 'overwrite' || (this.report.policy === 'fail' && !this.#conflictSeen);
    this.report.writes.fieldValues += await this.#fields.batch(records, writes);
  }

  setHeader(header: BundleHeader): void {
    const { format: _format, counts: _counts, ...facts } = header;
    this.report.bundle = { ...facts, records: 0 };
  }

  async batch(records: BundleRecord[]): Promise<void> {
    const classified = await this.#classify(records);
    for (const { record, action } of classified) this.#count(record, action);
    if (this.#write) await this.#apply(classified);
  }

  async #classify(records: BundleRecord[]): Promise<Classified[]> {
    let query = this.#db
      .selectFrom('lockbox_secrets')
      .select([
        'scope',
        'name',
        'value_type',
        'ciphertext',
        'metadata',
        'updated_at',
        'version',
        'created_at',
      ])
      .where((eb) =>
        eb(
          eb.refTuple('scope', 'name'),
          'in',
          records.map((r) => eb.tuple(r.scope, r.name)),
        ),
      );
    // Lock the rows this import may overwrite, so the classification holds until commit.
    if (this.#write && this.#target.store.dialect === 'postgres') query = query.forUpdate();
    const existing = new Map(
      (await query.execute()).map((row) => [pairKey(row.scope, row.name), row]),
    );
    const classified: Classified[] = [];
    for (const record of records) {
      const row = existing.get(pairKey(record.scope, record.name));
      if (row === undefined) {
        classified.push({ record, action: 'create' });
        continue;
      }
      const target = { version: Number(row.version), createdAt: row.created_at };
      let stored: Buffer;
      try {
        stored = await decryptSecretRow(this.#target.dataKeys, row, this.#db);
      } catch (err) {
        if (!(err instanceof LockboxError)) throw err;
        classified.push({ record, action: 'conflict', stored: target });
        this.#listConflict(record, 'undecryptable-in-target');
        continue;
      }
      const same =
        sameValue(record, row.value_type, stored) &&
        canonicalJson(record.metadata) ===
          canonicalJson(row.metadata === null ? null : JSON.parse(row.metadata));
      stored.fill(0);
      if (same) {
        classified.push({ record, action: 'unchanged', stored: target });
      } else if (
        record.updatedAt !== undefined &&
        Date.parse(row.updated_at) > Date.parse(record.updatedAt)
      ) {
        classified.push({ record, action: 'conflict', stored: target });
        this.#listConflict(record, 'newer-in-target');
      } else {
        classified.push({ record, action: 'overwrite', stored: target });
      }
    }
    return classified;
  }

  #listConflict(record: BundleRecord, reason: ImportConflict['reason']): void {
    this.#conflictSeen = true;
    if (this.report.conflicts.length < MAX_LISTED_CONFLICTS) {
      this.report.conflicts.push({ scope: record.scope, name: record.name, reason });
    } else {
      this.report.conflictsTruncated = true;
    }
  }

  #count(record: BundleRecord, action: ImportAction): void {
    let counts = this.#byScope.get(record.scope);
    if (counts === undefined) {
      counts = { scope: record.scope, create: 0, overwrite: 0, unchanged: 0, conflict: 0 };
      this.#byScope.set(record.scope, counts);
    }
    counts[action] += 1;
    this.report.totals[action] += 1;
    this.report.bundle.records += 1;
    if (this.#writes(action)) this.report.writes[action === 'create' ? 'create' : 'overwrite'] += 1;
  }

  /** Whether apply writes a record of this class under the policy. */
  #writes(action: ImportAction): boolean {
    switch (this.report.policy) {
      case 'skip':
        return action === 'create';
      case 'overwrite':
        return action !== 'unchanged';
      case 'fail':
        return action === 'create' || action === 'overwrite';
    }
  }

  async #keyFor(scope: string): Promise<OpenDataKey> {
    let key = this.#keys.get(scope);
    if (key === undefined) {
      // Bounded: an import touching very many scopes re-reads keys instead of holding them all.
      if (this.#keys.size >= 1024) this.#keys.clear();
      key = await this.#target.dataKeys.activeFor(scope, this.#db);
      this.#keys.set(scope, key);
    }
    return key;
  }

  async #apply(classified: Classified[]): Promise<void> {
    // Under 'fail', once a conflict is known the import will be refused: stop writing.
    if (this.report.policy === 'fail' && this.#conflictSeen) return;
    const creates: Insertable<SecretTable>[] = [];
    const updates: Insertable<SecretTable>[] = [];
    for (const { record, action, stored } of classified) {
      if (!this.#writes(action)) continue;
      const key = await this.#keyFor(record.scope);
      const version = (stored?.version ?? 0) + 1;
      const createdAt = stored?.createdAt ?? this.#now;
      const { ciphertext, type } = encryptSecretValue(
        key,
        { scope: record.scope, name: record.name, version, createdAt },
        record.value,
      );
      const row = {
        scope: record.scope,
        name: record.name,
        version,
        value_type: type,
        ciphertext,
        data_key_id: key.id,
        metadata: record.metadata === null ? null : JSON.stringify(record.metadata),
        created_at: createdAt,
        updated_at: this.#now,
        updated_by: this.#actor,
      };
      (action === 'create' ? creates : updates).push(row);
    }
    if (creates.length > 0) {
      const inserted = await this.#db
        .insertInto('lockbox_secrets')
        .values(creates)
        .onConflict((oc) => oc.columns(['scope', 'name']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== creates.length) {
        throw new LockboxError(
          'VERSION_CONFLICT',
          'another writer created some of the imported secrets during the import; nothing was imported',
        );
      }
    }
    if (updates.length > 0) {
      // Each overwrite was sealed for the version after the one classified; it lands
      // only on a row still at that version, so the bound version is the stored one.
      const written = await this.#db
        .insertInto('lockbox_secrets')
        .values(updates)
        .onConflict((oc) =>
          oc
            .columns(['scope', 'name'])
            .doUpdateSet((eb) => ({
              version: eb.ref('excluded.version'),
              value_type: eb.ref('excluded.value_type'),
              ciphertext: eb.ref('excluded.ciphertext'),
              data_key_id: eb.ref('excluded.data_key_id'),
              metadata: eb.ref('excluded.metadata'),
              updated_at: eb.ref('excluded.updated_at'),
              updated_by: eb.ref('excluded.updated_by'),
            }))
            .where((eb) =>
              eb.and([
                eb(eb('lockbox_secrets.version', '+', 1), '=', eb.ref('excluded.version')),
                eb('lockbox_secrets.created_at', '=', eb.ref('excluded.created_at')),
              ]),
            ),
        )
        .executeTakeFirst();
      if (Number(written.numInsertedOrUpdatedRows ?? 0n) !== updates.length) {
        throw new LockboxError(
          'VERSION_CONFLICT',
          'another writer changed some of the imported secrets during the import; nothing was imported',
        );
      }
    }
  }

  finish(): ImportReport {
    this.report.scopes = [...this.#byScope.values()].sort((a, b) =>
      a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0,
    );
    this.report.fields = this.#fields.counts;
    for (const field of this.report.fields) {
      for (const count of [
        'values',
        'update',
        'unchanged',
        'missingRow',
        'unregistered',
      ] as const) {
        this.report.fieldTotals[count] += field[count];
      }
    }
    if (this.report.policy === 'fail' && this.report.totals.conflict > 0) {
      this.report.writes = { create: 0, overwrite: 0, fieldValues: 0 };
      if (this.#write) {
        throw new LockboxError(
          'IMPORT_CONFLICT',
          `${this.report.totals.conflict} secret(s) in the target changed after the bundle was made (or cannot be decrypted); nothing was imported. Preview, then choose the skip or overwrite policy`,
          { details: { conflicts: this.report.conflicts, totals: this.report.totals } },
        );
      }
    }
    return this.report;
  }
}

async function run(
  target: ImportTarget,
  db: Db,
  input: ByteSource,
  mode: 'preview' | 'apply',
  options: ImportOptions,
): Promise<ImportReport> {
  if (options.policy !== undefined && !CONFLICT_POLICIES.includes(options.policy)) {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `the conflict policy must be one of ${CONFLICT_POLICIES.join(', ')}`,
    );
  }
  const runner = new ImportRun(target, db, mode, options);
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  let bytes = 0;
  let batch: BundleRecord[] = [];
  let fieldBatch: FieldValueRecord[] = [];
  const authorized = new Set<string>();
  const flush = async () => {
    if (batch.length === 0 && fieldBatch.length === 0) return;
    if (batch.length > 0) await runner.batch(batch);
    if (fieldBatch.length > 0) await runner.fieldBatch(fieldBatch);
    batch = [];
    fieldBatch = [];
    options.onProgress?.({ records: runner.report.bundle.records, bytes });
    // Decrypting and comparing a batch is CPU work on this thread: let the event
    // loop run (health checks, other requests) before the next one.
    await yieldToEventLoop();
  };
  for await (const item of readBundle(input, {
    decryption: options.decryption,
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.maxValueBytes === undefined ? {} : { maxValueBytes: options.maxValueBytes }),
    onBytes: (n) => {
      bytes = n;
    },
  })) {
    if (item.kind === 'header') {
      runner.setHeader(item.header);
      continue;
    }
    if (item.kind === 'field') {
      fieldBatch.push(item.record);
      if (fieldBatch.length >= batchSize) await flush();
      continue;
    }
    if (options.authorize !== undefined && !authorized.has(item.record.scope)) {
      options.authorize(item.record.scope);
      if (authorized.size < 10_000) authorized.add(item.record.scope);
    }
    batch.push(item.record);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return runner.finish();
}

/** Reports what applying the bundle would do. Reads the target; writes nothing. */
export async function previewImport(
  target: ImportTarget,
  input: ByteSource,
  options: ImportOptions,
): Promise<ImportReport> {
  return run(target, target.store.db, input, 'preview', options);
}

/**
 * Applies the bundle in one transaction. Throws the bundle refusals (see
 * bundle-reader.ts), IMPORT_CONFLICT under the 'fail' policy, VERSION_CONFLICT
 * when a concurrent writer created an imported name; in every case nothing is written.
 */
export async function applyImport(
  target: ImportTarget,
  input: ByteSource,
  options: ImportOptions,
): Promise<ImportReport> {
  return target.store.db.transaction().execute((trx) => run(target, trx, input, 'apply', options));
}
