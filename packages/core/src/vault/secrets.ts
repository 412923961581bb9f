/**
 * Secrets: (scope, name) → value, encrypted with the scope's active data key.
 *
 * Each ciphertext is bound by associated data to its scope, name, value type,
 * version and creation time (lb2:, see secret-ciphertext.ts), so a ciphertext
 * copied into another row, relabelled from text to bytes, or put back under a
 * newer version of the same row, fails to decrypt. A value that cannot be
 * decrypted raises a typed error naming the scope/name and the key it needs —
 * never a silent fallback.
 *
 * A write reads the row's version first (or starts from the version and data
 * key this handle last wrote, see write-hints.ts), seals for the next version and
 * writes only if the row is still at that version (and its data key still
 * active): the version bound into the ciphertext is always the version stored
 * (secret-row-writes.ts). A re-key retiring the key seals again under the new
 * one; another writer's change reads the database and seals again. The SQL is
 * store/secret-rows.ts's; the records and options are secret-info.ts's.
 */
import { nowIso } from '../clock.js';
import { LockboxError } from '../errors.js';
import type { Store } from '../store/connect.js';
import type { Executor } from '../store/executor.js';
import { scopeSecretCounts } from '../store/secret-row-counts.js';
import {
  deleteSecretRow,
  listSecretRows,
  readSecretRow,
  readSecretValue,
  readStoredVersion,
  secretExists,
} from '../store/secret-rows.js';
import type { Actor, AuditSink } from './audit-sink.js';
import { audited } from './audited.js';
import type { DataKeys, OpenDataKey } from './data-keys.js';
import { validateName, validateScope, validateUserScope } from './names.js';
import type { SecretBinding } from './secret-ciphertext.js';
import {
  encodeMetadata,
  type ListedSecret,
  notFound,
  type ReadOptions,
  type SecretInfo,
  type SecretsOptions,
  type SetOptions,
  toInfo,
  versionConflict,
} from './secret-info.js';
import { openSecretRow } from './secret-row-codec.js';
import { plaintextOf, writeSecretVersion } from './secret-row-writes.js';
import { assertWellFormed } from './text-input.js';
import { WriteHints } from './write-hints.js';

export type { ListedSecret, ReadOptions, SecretInfo, SecretsOptions, SetOptions };

export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024;
/** How often a write (without ifVersion) seals again when other writers keep changing the row first. */
const MAX_RACE_ATTEMPTS = 100;

export class Secrets {
  readonly #db: Executor;
  /** The store's SQLite connection, for the hot reads (secret-rows.ts readSecretRow). */
  readonly #sqlite: Store['sqliteConnection'];
  readonly #keys: DataKeys;
  readonly #maxValueBytes: number;
  readonly #audit: AuditSink | undefined;
  readonly #actor: Actor | undefined;
  /** The key and versions this handle last wrote, tried first by `set`. */
  readonly #hints = new WriteHints();

  constructor(
    store: Pick<Store, 'db' | 'sqliteConnection'>,
    keys: DataKeys,
    options: SecretsOptions = {},
  ) {
    this.#db = store.db;
    this.#sqlite = store.sqliteConnection;
    this.#keys = keys;
    this.#maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.#audit = options.audit;
    this.#actor = options.defaultActor;
  }

  /** Whether set/read/delete are recorded (the sink is given at construction, never later). */
  get audited(): boolean {
    return this.#audit !== undefined;
  }

  /** Stores a value (string as UTF-8 text, or bytes). Returns the new version. */
  async set(
    scope: string,
    name: string,
    value: string | Uint8Array,
    options: SetOptions = {},
  ): Promise<number> {
    validateUserScope(scope);
    validateName(name);
    if (typeof value === 'string') assertWellFormed(`the value of "${scope}/${name}"`, value);
    const { type, plaintext, owned } = plaintextOf(value);
    try {
      if (plaintext.length > this.#maxValueBytes) {
        throw new LockboxError(
          'VALUE_TOO_LARGE',
          `value of "${scope}/${name}" is larger than ${this.#maxValueBytes} bytes`,
          {
            details: { scope, name, limit: this.#maxValueBytes },
          },
        );
      }
      const metadata = encodeMetadata(options.metadata);
      let version = 0;
      await audited(
        this.#audit,
        { action: 'secret.set', scope, name },
        options,
        async () => {
          const write = {
            scope,
            name,
            type,
            plaintext,
            metadata,
            keepMetadata: options.metadata === undefined,
            updatedAt: '',
            updatedBy: (options.actor ?? this.#actor)?.id ?? null,
          };
          // Another writer may change the row between our read and our write: the
          // write then lands nowhere and we seal again for the row as it is.
          let activeKey: OpenDataKey | undefined;
          for (let attempt = 1; ; attempt++) {
            // The first attempt starts from what this handle last wrote (write-hints.ts),
            // when it wrote this secret and the hint fits ifVersion; the guarded
            // statement checks it, and a miss seals again from the database.
            const hinted = attempt === 1 ? this.#hints.version(scope, name) : undefined;
            const useHint =
              hinted !== undefined &&
              (options.ifVersion === undefined || options.ifVersion === hinted.version);
            const key = useHint
              ? await this.#hints.key(this.#keys, scope)
              : (activeKey ?? (await this.#keys.activeFor(scope)));
            const current = useHint ? hinted : await readStoredVersion(this.#db, scope, name);
            if (options.ifVersion !== undefined && (current?.version ?? 0) !== options.ifVersion) {
              throw versionConflict(scope, name, options.ifVersion);
            }
            write.updatedAt = nowIso();
            const outcome = await writeSecretVersion(this.#db, this.#keys, write, current, key);
            if (outcome.written) {
              version = outcome.stored.version;
              this.#hints.wrote(scope, name, outcome.key, outcome.stored);
              return;
            }
            this.#hints.forget(scope, name);
            activeKey = outcome.key;
            // Another writer changed the row first: a compare-and-swap has lost.
            if (options.ifVersion !== undefined)
              throw versionConflict(scope, name, options.ifVersion);
            if (attempt >= MAX_RACE_ATTEMPTS) {
              throw new LockboxError(
                'VERSION_CONFLICT',
                `"${scope}/${name}" was not written: other writers kept changing it`,
                { details: { scope, name } },
              );
            }
          }
        },
        {
          failures: 'record',
          defaultActor: this.#actor,
          // The version written, so that `doctor` can tell a row rolled back together
          // with its version from the last version this log saw written.
          okDetails: () => ({ version }),
        },
      );
      return version;
    } finally {
      // Ours to wipe once sealed; a caller's bytes are never touched.
      if (owned) plaintext.fill(0);
    }
  }

  /**
   * Decrypts a stored row; errors name the scope/name and the key needed. A
   * ciphertext put back under another version (or another life of the row) is
   * SECRET_UNDECRYPTABLE with reason DECRYPT_FAILED, like any tampering. With
   * `db` (a caller's transaction) the data key is read there.
   */
  decryptRow(row: SecretBinding & { ciphertext: string }, db?: Executor): Promise<Buffer> {
    return openSecretRow(this.#keys, row, db);
  }

  /** The value and its record. Throws SECRET_NOT_FOUND or SECRET_UNDECRYPTABLE. */
  async read(
    scope: string,
    name: string,
    options: ReadOptions = {},
  ): Promise<SecretInfo & { value: string | Buffer }> {
    validateScope(scope);
    validateName(name);
    return audited(
      this.#audit,
      { action: 'secret.read', scope, name },
      options,
      async () => {
        const row = await readSecretRow(this.#db, scope, name, this.#sqlite);
        if (row === undefined) throw notFound(scope, name);
        const plaintext = await this.decryptRow(row);
        const value = row.value_type === 'utf8' ? plaintext.toString('utf8') : plaintext;
        return { ...toInfo(row), value };
      },
      { failures: 'record', defaultActor: this.#actor },
    );
  }

  /**
   * The value alone, for get/getBytes when no audit sink wants a record: one
   * select of the columns decryption needs, then the decryption — no record
   * object (this is the hot read path; bench/vault.js measures it).
   */
  async #valueOnly(scope: string, name: string): Promise<Buffer> {
    validateScope(scope);
    validateName(name);
    const row = await readSecretValue(this.#db, scope, name, this.#sqlite);
    if (row === undefined) throw notFound(scope, name);
    return this.decryptRow({ ...row, scope, name });
  }

  /** The value as text (a bytes value is returned as its UTF-8 decoding; use getBytes for bytes). */
  async get(scope: string, name: string, options: ReadOptions = {}): Promise<string> {
    if (this.#audit === undefined) return (await this.#valueOnly(scope, name)).toString('utf8');
    const { value } = await this.read(scope, name, options);
    return typeof value === 'string' ? value : value.toString('utf8');
  }

  async getBytes(scope: string, name: string, options: ReadOptions = {}): Promise<Buffer> {
    if (this.#audit === undefined) return this.#valueOnly(scope, name);
    const { value } = await this.read(scope, name, options);
    return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }

  async has(scope: string, name: string): Promise<boolean> {
    validateScope(scope);
    validateName(name);
    return secretExists(this.#db, scope, name);
  }

  /** Deletes a secret; returns false when there was none. */
  async delete(scope: string, name: string, options: ReadOptions = {}): Promise<boolean> {
    validateScope(scope);
    validateName(name);
    return audited(
      this.#audit,
      { action: 'secret.delete', scope, name },
      options,
      async () => {
        const deleted = await deleteSecretRow(this.#db, scope, name);
        this.#hints.forget(scope, name);
        return deleted;
      },
      { failures: 'record', defaultActor: this.#actor },
    );
  }

  /**
   * Lists secrets (all scopes, or one), without values. With `verify`, each is
   * decrypted and reported 'undecryptable' (with its error code) instead of
   * aborting the listing.
   */
  async list(options: { scope?: string; verify?: boolean } = {}): Promise<ListedSecret[]> {
    const scope = options.scope === undefined ? undefined : validateScope(options.scope);
    const listed: ListedSecret[] = [];
    for (const row of await listSecretRows(this.#db, scope)) {
      const info: ListedSecret = { ...toInfo(row), status: 'ok' };
      try {
        if (options.verify === true) {
          (await this.decryptRow(row)).fill(0);
        } else {
          await this.#keys.open(row.data_key_id);
        }
      } catch (err) {
        if (!(err instanceof LockboxError)) throw err;
        info.status = 'undecryptable';
        info.error = { code: err.code, message: err.message };
      }
      listed.push(info);
    }
    return listed;
  }

  /**
   * Scope names with their secret counts, in the database's order of scope
   * names. With `prefix`, only scopes whose names begin with it (exactly, case
   * and all); with `after`, only those ordered after that name — a cursor that
   * stays stable while scopes come and go; with `limit`, at most that many.
   */
  scopes(
    options: { prefix?: string; after?: string; limit?: number } = {},
  ): Promise<{ scope: string; secrets: number }[]> {
    return scopeSecretCounts(this.#db, options);
  }
}
