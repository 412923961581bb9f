/**
 * Importing a bundle: preview (what would change, per scope; writes nothing) and
 * apply (one transaction, with a conflict policy). Each record is classified
 * against the target store, and the policy decides which classes are written
 * (import-plan.ts); under `fail` (the default) any conflict refuses the whole
 * import with IMPORT_CONFLICT.
 *
 * Field value records (bundle version 2) go to import-field-values.ts, in the
 * same run and transaction: rows the target has are updated, others reported.
 *
 * Apply runs in one transaction and commits only after the whole bundle has
 * been read and authenticated; any refusal rolls it back, so a bad bundle writes
 * nothing. Values are re-encrypted with the target's own data keys (a different
 * master key is fine); the target assigns versions and timestamps. Secrets are
 * written with the guard Secrets.set uses (vault/secret-row-writes.ts, as a
 * batch): only under data keys read active — and held so until commit — so a
 * data re-key running meanwhile never finds an imported row under a key it
 * retired; a scope whose key it retired is sealed under its new key instead.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { nowIso } from '../clock.js';
import { LockboxError } from '../errors.js';
import type { Store } from '../store/connect.js';
import type { Executor } from '../store/executor.js';
import type { Actor } from '../vault/audit-sink.js';
import type { DataKeys, OpenDataKey } from '../vault/data-keys.js';
import type { Fields } from '../vault/fields.js';
import {
  type BatchedWrite,
  plaintextOf,
  writeSecretVersionsInTransaction,
} from '../vault/secret-row-writes.js';
import type { AgeDecryption, ByteSource } from './age-stream.js';
import type { BundleHeader, BundleRecord } from './bundle-format.js';
import { readBundle } from './bundle-reader.js';
import type { FieldValueRecord } from './field-record.js';
import { type FieldImportCounts, FieldValueImport } from './import-field-values.js';
import {
  type Classified,
  CONFLICT_POLICIES,
  type ConflictPolicy,
  classifyRecords,
  type ImportAction,
  type ImportConflict,
  writtenUnder,
} from './import-plan.js';

export { CONFLICT_POLICIES, type ConflictPolicy, type ImportAction, type ImportConflict };

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
  store: Pick<Store, 'db' | 'dialect' | 'durable'>;
  dataKeys: DataKeys;
  fields: Pick<Fields, 'find'>;
}

const MAX_LISTED_CONFLICTS = 100;
const DEFAULT_BATCH = 500;

class ImportRun {
  readonly report: ImportReport;
  readonly #target: ImportTarget;
  readonly #db: Executor;
  readonly #write: boolean;
  readonly #actor: string;
  readonly #now = nowIso();
  readonly #keys = new Map<string, OpenDataKey>();
  readonly #byScope = new Map<string, ScopeImportCounts>();
  readonly #fields: FieldValueImport;
  #conflictSeen = false;

  constructor(
    target: ImportTarget,
    db: Executor,
    mode: 'preview' | 'apply',
    options: ImportOptions,
  ) {
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
    const lock = this.#write && this.#target.store.dialect === 'postgres';
    const classified = await classifyRecords(this.#db, this.#target.dataKeys, records, lock);
    for (const { record, action, conflict } of classified) {
      if (conflict !== undefined) this.#listConflict(record, conflict);
      this.#count(record, action);
    }
    if (this.#write) await this.#apply(classified);
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

  #writes(action: ImportAction): boolean {
    return writtenUnder(this.report.policy, action);
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
    const batch: BatchedWrite[] = [];
    const owned: Uint8Array[] = [];
    const keys = new Map<string, OpenDataKey>();
    try {
      for (const { record, action, stored } of classified) {
        if (!this.#writes(action)) continue;
        const { type, plaintext, owned: ours } = plaintextOf(record.value);
        if (ours) owned.push(plaintext);
        if (!keys.has(record.scope)) keys.set(record.scope, await this.#keyFor(record.scope));
        batch.push({
          write: {
            scope: record.scope,
            name: record.name,
            type,
            plaintext,
            metadata: record.metadata === null ? null : JSON.stringify(record.metadata),
            keepMetadata: false,
            updatedAt: this.#now,
            updatedBy: this.#actor,
          },
          current: stored,
        });
      }
      const lock = this.#target.store.dialect === 'postgres';
      const written = await writeSecretVersionsInTransaction(
        this.#db,
        this.#target.dataKeys,
        batch,
        keys,
        lock,
      );
      // A re-key may have moved a scope to a new key: the next batches use it.
      for (const [scope, key] of keys) this.#keys.set(scope, key);
      const creates = batch.filter((b) => b.current === undefined).length;
      if (written.created !== creates) {
        throw new LockboxError(
          'VERSION_CONFLICT',
          'another writer created some of the imported secrets during the import; nothing was imported',
        );
      }
      if (written.overwritten !== batch.length - creates) {
        throw new LockboxError(
          'VERSION_CONFLICT',
          'another writer changed some of the imported secrets during the import; nothing was imported',
        );
      }
    } finally {
      for (const plaintext of owned) plaintext.fill(0);
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
  db: Executor,
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
