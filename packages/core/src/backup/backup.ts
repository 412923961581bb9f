/**
 * Backup: bundles (decrypting exports, preview-then-apply imports), snapshots
 * (non-decrypting copies) and the backup state, for one open Lockbox.
 *
 * Every operation that changes or reveals the store's contents is audited when
 * it succeeds (backup.export, backup.import.preview, backup.import,
 * backup.snapshot, backup.restore) with
 * counts, never values or keys. A complete export (every scope)
 * moves META.lastExportAt, which backupState reads.
 */
import { setMeta } from '../store/meta-rows.js';
import type { Actor, AuditSink } from '../vault/audit-sink.js';
import { audited } from '../vault/audited.js';
import type { Vault } from '../vault/lockbox.js';
import { META } from '../vault/store-meta.js';
import type { ByteSource } from './age-stream.js';
import { type BackupState, backupState } from './backup-state.js';
import { type ExportOptions, type ExportSummary, exportBundle } from './export-bundle.js';
import {
  applyImport,
  type ImportOptions,
  type ImportReport,
  previewImport,
} from './import-bundle.js';
import { type RestoreOptions, type RestoreSummary, restoreSnapshot } from './restore-snapshot.js';
import { type SnapshotOptions, type SnapshotSummary, takeSnapshot } from './take-snapshot.js';

type BackupVault = Pick<
  Vault,
  'store' | 'dataKeys' | 'fields' | 'storeId' | 'keyring' | 'schemaVersion'
>;

/** Who asks, as the audit entry records it: the actor and the request id (an HTTP request's, say). */
export interface BackupCaller {
  actor?: Actor;
  requestId?: string;
}

/** An import's field value counts for its audit entry (counts only: no row key, no value). */
function fieldCounts(r: ImportReport): Record<string, number> {
  return {
    fieldCount: r.fields.length,
    fieldValuesRead: r.fieldTotals.values,
    fieldRowsMissing: r.fieldTotals.missingRow,
    fieldValuesUnregistered: r.fieldTotals.unregistered,
  };
}

export class Backup {
  readonly #vault: BackupVault;
  readonly #audit: AuditSink | undefined;

  /**
   * Only successes are audited (`failures: 'skip'`): a refused import or restore
   * promises to write nothing at all, the audit log included (the database stays
   * byte-for-byte as it was), and its caller reports the error.
   */
  constructor(vault: BackupVault, audit?: AuditSink) {
    this.#vault = vault;
    this.#audit = audit;
  }

  /**
   * Writes an age-encrypted bundle to `output` (see export-bundle.ts). A complete
   * export (no scope filter) records META.lastExportAt.
   */
  async export(
    output: WritableStream<Uint8Array>,
    options: ExportOptions & BackupCaller,
  ): Promise<ExportSummary> {
    const v = this.#vault;
    return audited(
      this.#audit,
      {
        action: 'backup.export',
        details: {
          to: 'recipients' in options.encryption ? 'recipients' : 'passphrase',
          ...(options.scopes === undefined ? {} : { scopes: options.scopes.slice(0, 50) }),
        },
      },
      options,
      async () => {
        const summary = await exportBundle(
          {
            store: v.store,
            dataKeys: v.dataKeys,
            fields: v.fields,
            storeId: v.storeId,
            sourceFingerprint: v.keyring.primary.fingerprint,
          },
          output,
          options,
        );
        if (summary.complete) await setMeta(v.store.db, META.lastExportAt, summary.createdAt);
        return summary;
      },
      {
        failures: 'skip',
        okDetails: (s) => ({
          records: s.records,
          scopeCount: s.scopes.length,
          fieldValues: s.fieldValues,
          fieldCount: s.fields.length,
          complete: s.complete,
        }),
      },
    );
  }

  /**
   * The same export as a readable stream of age ciphertext (for HTTP responses).
   * `done` settles when the stream has been read to the end (or failed).
   */
  exportStream(options: ExportOptions & BackupCaller): {
    stream: ReadableStream<Uint8Array>;
    done: Promise<ExportSummary>;
  } {
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const done = this.export(pipe.writable, options);
    done.catch(() => undefined);
    return { stream: pipe.readable, done };
  }

  /**
   * What importing the bundle would do, per scope. Changes no secret; a
   * successful preview is audited (backup.import.preview, with counts), because
   * its answers (create / unchanged / overwrite) reveal which secrets exist and
   * whether a bundle's values match them.
   */
  preview(
    input: ByteSource,
    options: ImportOptions & Pick<BackupCaller, 'requestId'>,
  ): Promise<ImportReport> {
    return audited(
      this.#audit,
      { action: 'backup.import.preview', details: { policy: options.policy ?? 'fail' } },
      options,
      () => previewImport(this.#vault, input, options),
      {
        failures: 'skip',
        okDetails: (r) => ({
          records: r.bundle.records,
          scopeCount: r.scopes.length,
          ...r.totals,
          ...(r.fields.length === 0 ? {} : fieldCounts(r)),
        }),
      },
    );
  }

  /** Imports the bundle in one transaction (see import-bundle.ts). */
  apply(
    input: ByteSource,
    options: ImportOptions & Pick<BackupCaller, 'requestId'>,
  ): Promise<ImportReport> {
    return audited(
      this.#audit,
      { action: 'backup.import', details: { policy: options.policy ?? 'fail' } },
      options,
      () => applyImport(this.#vault, input, options),
      {
        failures: 'skip',
        // The bundle may be deleted once the import is reported: what it wrote must outlive a power loss.
        flush: () => this.#vault.store.durable(),
        okDetails: (r) => ({
          records: r.bundle.records,
          ...r.writes,
          unchanged: r.totals.unchanged,
          conflicts: r.totals.conflict,
          ...(r.fields.length === 0 ? {} : fieldCounts(r)),
        }),
      },
    );
  }

  /** Writes a snapshot (wrapped keys and ciphertexts, nothing decrypted) to `output`. */
  snapshot(
    output: WritableStream<Uint8Array>,
    options: SnapshotOptions & BackupCaller,
  ): Promise<SnapshotSummary> {
    return audited(
      this.#audit,
      { action: 'backup.snapshot', details: { encrypted: options.encryption !== 'none' } },
      options,
      () => takeSnapshot(this.#vault, output, options),
      {
        failures: 'skip',
        okDetails: (s) => ({ ...s.counts }),
      },
    );
  }

  /** Restores a snapshot into this (empty) store; see restore-snapshot.ts. */
  restore(input: ByteSource, options: RestoreOptions & BackupCaller = {}): Promise<RestoreSummary> {
    return audited(
      this.#audit,
      { action: 'backup.restore', details: {} },
      options,
      // An adopted recovery recipient applies to every key made from now on (DataKeys
      // reads it at creation), starting with the audit key the entry below may create.
      () => restoreSnapshot(this.#vault, input, options),
      {
        failures: 'skip',
        // The restored store replaces the source (the old one may be deleted): it must outlive a power loss.
        flush: () => this.#vault.store.durable(),
        okDetails: (s) => ({ ...s.counts, recovery: s.recovery, sourceStoreId: s.sourceStoreId }),
      },
    );
  }

  /** Whether losing the master key would lose secrets (see backup-state.ts). */
  state(): Promise<BackupState> {
    return backupState(this.#vault.store.db, this.#vault.dataKeys.integrity);
  }
}
