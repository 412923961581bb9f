/**
 * Restoring a snapshot into an empty store, under the same master key(s).
 *
 * Prove before touching: the keyring must hold the master keys the snapshot
 * names (KEY_WRONG when it holds none of them, KEY_NOT_IN_KEYRING naming the
 * missing one otherwise); every data key is unwrapped, and every secret's
 * ciphertext decrypted, before the transaction commits. Any refusal rolls back,
 * so nothing is written. Memory stays bounded: rows are checked and inserted a
 * page at a time, data keys come back through DataKeys' bounded cache.
 *
 * Recovery wraps: if the target has a recovery recipient, every restored data
 * key is rewrapped to it (the target's promise holds); otherwise the snapshot's
 * recipient and wraps are adopted as they are.
 */
import type { Insertable, Kysely } from 'kysely';
import { LockboxError } from '../errors.js';
import { wrapToRecipient } from '../keys/age-identity.js';
import { wrappingFingerprint } from '../keys/keyring.js';
import type { Store } from '../store/connect.js';
import {
  liveDataKeysWithoutRecoveryWrap,
  setRecoveryWrap,
  userDataKeyCount,
} from '../store/data-key-backup-rows.js';
import { insertDataKey } from '../store/data-key-rows.js';
import { fieldRowCount } from '../store/field-rows.js';
import type { DataKeyTable, LockboxSchema, SecretTable } from '../store/schema.js';
import { countSecrets } from '../store/secret-row-counts.js';
import { insertSecretRows } from '../store/secret-rows.js';
import { isUserScope } from '../store/user-scope-filter.js';
import { authenticatedRecipient, setAuthenticatedMeta } from '../vault/authenticated-meta.js';
import type { DataKeys } from '../vault/data-keys.js';
import { keyColumnsOf, writeRegistration } from '../vault/fields.js';
import { writeMasterKeyRecord } from '../vault/master-key-records.js';
import { validateIdentifier, validateName, validateUserScope } from '../vault/names.js';
import { openSecretRow } from '../vault/secret-row-codec.js';
import { META } from '../vault/store-meta.js';
import {
  type AgeDecryption,
  type ByteSource,
  byteLimit,
  decryptStream,
  looksLikeAge,
  peekBytes,
  readDecrypted,
  refuseArmor,
  toReadableStream,
} from './age-stream.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from './bundle-reader.js';
import { malformed, readJsonLines } from './json-lines.js';
import {
  parseSnapshotHeader,
  parseSnapshotRow,
  type SnapshotHeader,
  type SnapshotRow,
} from './snapshot-format.js';

export interface RestoreOptions {
  /** Needed when the snapshot is age-encrypted; refused for a plain one. */
  decryption?: AgeDecryption;
  maxBytes?: number;
  batchSize?: number;
  onProgress?: (progress: { records: number; total: number }) => void;
}

export interface RestoreSummary {
  sourceStoreId: string;
  createdAt: string;
  counts: SnapshotHeader['counts'];
  masterFingerprints: string[];
  /** What happened to the recovery wraps (see the module comment). */
  recovery: 'rewrapped' | 'adopted' | 'none';
}

export interface RestoreTarget {
  store: Pick<Store, 'db' | 'dialect' | 'durable'>;
  dataKeys: DataKeys;
}

type Db = Kysely<LockboxSchema>;

const DEFAULT_BATCH = 500;
/** Rows hold a ciphertext of at most a few hundred KiB; a line beyond this is not a row. */
const MAX_LINE_BYTES = 1024 * 1024;

/** Throws RESTORE_TARGET_NOT_EMPTY unless the store has no secrets, user data keys or fields. */
export async function checkRestoreTarget(db: Db): Promise<void> {
  const secrets = await countSecrets(db);
  const dataKeys = await userDataKeyCount(db, isUserScope);
  const fields = await fieldRowCount(db);
  if (secrets + dataKeys + fields > 0) {
    throw new LockboxError(
      'RESTORE_TARGET_NOT_EMPTY',
      `the target store is not empty (${secrets} secrets, ${dataKeys} data keys, ${fields} fields); restore into a new store`,
      { details: { secrets, dataKeys, fields } },
    );
  }
}

function asMalformed(err: unknown, line: number): unknown {
  if (
    err instanceof LockboxError &&
    ['SCOPE_INVALID', 'NAME_INVALID', 'FIELD_INVALID', 'WRAPPED_KEY_MALFORMED'].includes(err.code)
  ) {
    return new LockboxError('BUNDLE_MALFORMED', `line ${line}: ${err.message}`, {
      details: { ...err.details, line, reason: err.code },
    });
  }
  return err;
}

async function openSnapshot(
  source: ByteSource,
  options: RestoreOptions,
): Promise<AsyncIterable<Uint8Array>> {
  const limited = toReadableStream(source).pipeThrough(
    byteLimit(options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES),
  );
  const { head, stream } = await peekBytes(limited, 64);
  refuseArmor(head);
  if (looksLikeAge(head)) {
    if (options.decryption === undefined) {
      await stream.cancel();
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'the snapshot is age-encrypted; give the identity or passphrase it was made for',
      );
    }
    return decryptStream(stream, options.decryption);
  }
  if (options.decryption !== undefined) {
    await stream.cancel();
    throw new LockboxError(
      'BUNDLE_MALFORMED',
      'an identity or passphrase was given but the file is not age-encrypted',
    );
  }
  return readDecrypted(stream);
}

class RestoreRun {
  readonly #target: RestoreTarget;
  readonly #db: Db;
  readonly #recipient: string | undefined;
  readonly #batchSize: number;
  #keys: Insertable<DataKeyTable>[] = [];
  #secrets: Insertable<SecretTable>[] = [];
  #phase: 'dataKey' | 'field' | 'secret' = 'dataKey';
  records = 0;

  constructor(target: RestoreTarget, db: Db, recipient: string | undefined, batchSize: number) {
    this.#target = target;
    this.#db = db;
    this.#recipient = recipient;
    this.#batchSize = batchSize;
  }

  checkKeyring(header: SnapshotHeader): void {
    const keyring = this.#target.dataKeys.keyring;
    const missing = header.masterFingerprints.filter((f) => !keyring.has(f));
    if (missing.length === 0) return;
    if (missing.length === header.masterFingerprints.length) {
      throw new LockboxError(
        'KEY_WRONG',
        `the keyring (${keyring.fingerprints().join(', ')}) holds none of the snapshot's master keys (${missing.join(', ')})`,
        { details: { needed: missing, configured: keyring.fingerprints() } },
      );
    }
    throw new LockboxError(
      'KEY_NOT_IN_KEYRING',
      `the snapshot needs master key ${missing.join(', ')}, which is not in the keyring`,
      { details: { fingerprint: missing[0], needed: missing } },
    );
  }

  async row(row: SnapshotRow, line: number): Promise<void> {
    const order = ['dataKey', 'field', 'secret'];
    if (order.indexOf(row.type) < order.indexOf(this.#phase)) {
      throw malformed(line, 'rows must come in the order data keys, fields, secrets');
    }
    if (row.type !== this.#phase) {
      await this.#flushKeys();
      this.#phase = row.type;
    }
    this.records += 1;
    try {
      if (row.type === 'dataKey') await this.#dataKey(row);
      else if (row.type === 'field') await this.#field(row);
      else await this.#secret(row);
    } catch (err) {
      throw asMalformed(err, line);
    }
  }

  async #dataKey(row: Extract<SnapshotRow, { type: 'dataKey' }>): Promise<void> {
    validateUserScope(row.scope);
    let wrappedRecovery = this.#recipient === undefined ? row.wrappedRecovery : null;
    if (row.wrapped !== null) {
      if (wrappingFingerprint(row.wrapped) !== row.masterFingerprint) {
        throw new LockboxError(
          'BUNDLE_MALFORMED',
          `data key ${row.id}: its wrapped key names another master key than its masterFingerprint`,
        );
      }
      // Throws KEY_NOT_IN_KEYRING / DATA_KEY_UNDECRYPTABLE naming the scope and key;
      // the wrap is bound to (scope, id), so a relabelled row does not unwrap.
      const open = this.#target.dataKeys.unwrapRow(row);
      if (this.#recipient !== undefined) {
        const bytes = open.key.export();
        wrappedRecovery = await wrapToRecipient(this.#recipient, bytes);
        bytes.fill(0);
      }
    }
    this.#keys.push({
      id: row.id,
      scope: row.scope,
      version: row.version,
      wrapped: row.wrapped,
      master_fingerprint: row.masterFingerprint,
      wrapped_recovery: wrappedRecovery,
      state: row.state,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    });
    if (this.#keys.length >= this.#batchSize) await this.#flushKeys();
  }

  async #flushKeys(): Promise<void> {
    if (this.#keys.length === 0) return;
    await insertDataKey(this.#db, this.#keys);
    this.#keys = [];
  }

  async #field(row: Extract<SnapshotRow, { type: 'field' }>): Promise<void> {
    const registration = {
      table: validateIdentifier('table', row.table),
      column: validateIdentifier('column', row.column),
      // One column, or several joined by commas (a composite row key).
      primaryKey: keyColumnsOf(row.primaryKey),
      scope: validateUserScope(row.scope),
    };
    // The snapshot is the operator's input: its registrations are MACed by this store.
    await writeRegistration(this.#db, this.#target.dataKeys.integrity, registration, {
      createdAt: row.createdAt,
      upsert: false,
    });
  }

  async #secret(row: Extract<SnapshotRow, { type: 'secret' }>): Promise<void> {
    validateUserScope(row.scope);
    validateName(row.name);
    const stored = {
      scope: row.scope,
      name: row.name,
      value_type: row.valueType,
      ciphertext: row.ciphertext,
      version: row.version,
      created_at: row.createdAt,
    };
    // Throws SECRET_UNDECRYPTABLE naming the scope/name when the row does not open.
    // The ciphertext is kept as it is, with the version and created_at it is bound
    // to (lb2:), so a snapshot row whose version was edited does not restore.
    (await openSecretRow(this.#target.dataKeys, stored, this.#db)).fill(0);
    this.#secrets.push({
      ...stored,
      data_key_id: row.dataKeyId,
      metadata: row.metadata,
      updated_at: row.updatedAt,
      updated_by: row.updatedBy,
    });
    if (this.#secrets.length >= this.#batchSize) await this.flush();
  }

  async flush(): Promise<void> {
    await this.#flushKeys();
    if (this.#secrets.length === 0) return;
    await insertSecretRows(this.#db, this.#secrets);
    this.#secrets = [];
  }
}

/**
 * Restores a snapshot into the (empty) target in one transaction. Throws
 * RESTORE_TARGET_NOT_EMPTY, KEY_WRONG, KEY_NOT_IN_KEYRING, DATA_KEY_UNDECRYPTABLE,
 * SECRET_UNDECRYPTABLE, INVALID_ARGUMENT (encrypted snapshot without identity),
 * and the bundle refusals (BUNDLE_MALFORMED, BUNDLE_VERSION_UNSUPPORTED,
 * BUNDLE_DECRYPT_FAILED, BUNDLE_TOO_LARGE); in every case nothing is written.
 */
export async function restoreSnapshot(
  target: RestoreTarget,
  source: ByteSource,
  options: RestoreOptions = {},
): Promise<RestoreSummary> {
  await checkRestoreTarget(target.store.db);
  const chunks = await openSnapshot(source, options);
  const summary = await target.store.db.transaction().execute(async (trx) => {
    await checkRestoreTarget(trx);
    const integrity = target.dataKeys.integrity;
    const recipient = await authenticatedRecipient(trx, integrity);
    const run = new RestoreRun(target, trx, recipient, options.batchSize ?? DEFAULT_BATCH);
    let header: SnapshotHeader | undefined;
    let trailer: { records: number; line: number } | undefined;
    let lastLine = 0;
    for await (const { number, value } of readJsonLines(chunks, MAX_LINE_BYTES)) {
      lastLine = number;
      if (header === undefined) {
        header = parseSnapshotHeader(value, number);
        run.checkKeyring(header);
        continue;
      }
      if (trailer !== undefined) throw malformed(number, 'content after the trailer line');
      if ('end' in value) {
        if (value.end !== true || typeof value.records !== 'number') {
          throw malformed(number, 'the trailer must be {"end":true,"records":N}');
        }
        trailer = { records: value.records, line: number };
        continue;
      }
      await run.row(parseSnapshotRow(value, number), number);
      const total = header.counts.dataKeys + header.counts.fields + header.counts.secrets;
      if (run.records % 1000 === 0) options.onProgress?.({ records: run.records, total });
    }
    if (header === undefined) throw malformed(1, 'the snapshot is empty (no header line)');
    if (trailer === undefined) {
      throw malformed(lastLine, 'the snapshot has no trailer line (truncated?)');
    }
    const expected = header.counts.dataKeys + header.counts.fields + header.counts.secrets;
    if (trailer.records !== run.records || expected !== run.records) {
      throw malformed(
        trailer.line,
        `the snapshot holds ${run.records} rows but its header and trailer say ${expected} and ${trailer.records}`,
      );
    }
    await run.flush();
    for (const fingerprint of header.masterFingerprints) {
      await writeMasterKeyRecord(trx, integrity, {
        fingerprint,
        state: 'active',
        created_at: header.createdAt,
        retired_at: null,
      });
    }
    let recovery: RestoreSummary['recovery'] = 'none';
    if (recipient !== undefined) {
      recovery = 'rewrapped';
    } else if (header.recoveryRecipient !== null) {
      await setAuthenticatedMeta(trx, integrity, META.recoveryRecipient, header.recoveryRecipient);
      // This store's own internal keys (integrity, audit) predate the adopted recipient.
      await wrapUncovered(trx, target.dataKeys, header.recoveryRecipient);
      recovery = 'adopted';
    }
    options.onProgress?.({ records: run.records, total: expected });
    return {
      sourceStoreId: header.storeId,
      createdAt: header.createdAt,
      counts: header.counts,
      masterFingerprints: header.masterFingerprints,
      recovery,
    };
  });
  return summary;
}

/** Wraps every live data key that has no recovery wrap to `recipient`. */
async function wrapUncovered(trx: Db, dataKeys: DataKeys, recipient: string): Promise<void> {
  const rows = await liveDataKeysWithoutRecoveryWrap(trx);
  for (const row of rows) {
    const bytes = dataKeys.unwrapRow(row).key.export();
    try {
      await setRecoveryWrap(trx, row.id, await wrapToRecipient(recipient, bytes));
    } finally {
      bytes.fill(0);
    }
  }
}
