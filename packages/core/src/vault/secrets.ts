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
 * active): the version bound into the ciphertext is always the version stored. A
 * lost race (another writer, or a re-key retiring the key) reads the database and
 * seals again.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { nowIso } from '../clock.js';
import { parseCiphertext } from '../crypto/ciphertext.js';
import { LockboxError } from '../errors.js';
import { markPrepared } from '../store/prepared-statements.js';
import type { LockboxSchema, ValueType } from '../store/schema.js';
import type { Actor, AuditSink } from './audit-sink.js';
import { audited } from './audited.js';
import type { DataKeys } from './data-keys.js';
import { validateName, validateScope, validateUserScope } from './names.js';
import { openSecret, type SecretBinding, sealSecret } from './secret-ciphertext.js';
import {
  insertIfKeyActive,
  isDataKeyActive,
  type NewRow,
  SECRET_COLUMNS,
  storedVersion,
  updateIfUnchanged,
} from './secret-row-writes.js';
import { assertWellFormed, validateMetadata } from './text-input.js';
import { WriteHints } from './write-hints.js';

export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024;
/** How often a write re-encrypts when re-keys keep retiring the scope's key under it. */
const MAX_WRITE_ATTEMPTS = 5;
/** How often a write (without ifVersion) seals again when other writers keep changing the row first. */
const MAX_RACE_ATTEMPTS = 100;

const MAX_METADATA_BYTES = 4096;

export interface SecretInfo {
  scope: string;
  name: string;
  version: number;
  type: ValueType;
  dataKeyId: string;
  metadata: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  updatedBy: string | null;
}

export interface ListedSecret extends SecretInfo {
  /** 'undecryptable' when the configured keys cannot open it (with the reason's code). */
  status: 'ok' | 'undecryptable';
  error?: { code: string; message: string };
}

export interface SetOptions {
  metadata?: Record<string, unknown> | null;
  /** Compare-and-swap: write only if the stored version equals this (0 = must not exist). */
  ifVersion?: number;
  actor?: Actor;
  requestId?: string;
}

export interface ReadOptions {
  actor?: Actor;
  requestId?: string;
}

export interface SecretsOptions {
  maxValueBytes?: number;
  defaultActor?: Actor;
  audit?: AuditSink;
}

type SecretRow = {
  scope: string;
  name: string;
  version: number;
  value_type: ValueType;
  ciphertext: string;
  data_key_id: string;
  metadata: string | null;
  created_at: string;
  updated_at: string;
  updated_by: string | null;
};

function toInfo(row: SecretRow): SecretInfo {
  return {
    scope: row.scope,
    name: row.name,
    version: Number(row.version),
    type: row.value_type,
    dataKeyId: row.data_key_id,
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

function encodeMetadata(metadata: Record<string, unknown> | null | undefined): string | null {
  if (metadata === undefined || metadata === null) return null;
  // Bounded depth and well-formed strings first: JSON.stringify recurses.
  const text = JSON.stringify(validateMetadata(metadata));
  if (Buffer.byteLength(text) > MAX_METADATA_BYTES) {
    throw new LockboxError(
      'VALUE_TOO_LARGE',
      `metadata is larger than ${MAX_METADATA_BYTES} bytes`,
    );
  }
  return text;
}

function binding(row: NewRow): SecretBinding {
  return {
    scope: row.scope,
    name: row.name,
    value_type: row.type,
    version: row.version,
    created_at: row.createdAt,
  };
}

function versionConflict(scope: string, name: string, expected: number): LockboxError {
  return new LockboxError('VERSION_CONFLICT', `"${scope}/${name}" is not at version ${expected}`, {
    details: { scope, name, expected },
  });
}

function notFound(scope: string, name: string): LockboxError {
  return new LockboxError('SECRET_NOT_FOUND', `no secret "${scope}/${name}"`, {
    details: { scope, name },
  });
}

export class Secrets {
  readonly #db: Kysely<LockboxSchema>;
  readonly #keys: DataKeys;
  readonly #maxValueBytes: number;
  readonly #audit: AuditSink | undefined;
  readonly #actor: Actor | undefined;
  /** The key and versions this handle last wrote, tried first by `set`. */
  readonly #hints = new WriteHints();
  /** The SQL of #valueOnly's select (parameters: scope, name), compiled on first use. */
  #valueSql: string | undefined;
  /** The SQL of #row's select (parameters: scope, name), compiled on first use. */
  #rowSql: string | undefined;

  constructor(db: Kysely<LockboxSchema>, keys: DataKeys, options: SecretsOptions = {}) {
    this.#db = db;
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
    const type: ValueType = typeof value === 'string' ? 'utf8' : 'bytes';
    const plaintext = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
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
        const updatedBy = (options.actor ?? this.#actor)?.id ?? null;
        // A data re-key may retire the scope's key between our lookup and our write,
        // and another writer may change the row between our read and our write;
        // either way the write lands nowhere and we seal again for the row as it is.
        let keyChanges = 0;
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
            : await this.#keys.activeFor(scope);
          const current = useHint ? hinted : await storedVersion(this.#db, scope, name);
          if (options.ifVersion !== undefined && (current?.version ?? 0) !== options.ifVersion) {
            throw versionConflict(scope, name, options.ifVersion);
          }
          const now = nowIso();
          const row: NewRow = {
            scope,
            name,
            version: (current?.version ?? 0) + 1,
            createdAt: current?.createdAt ?? now,
            type,
            ciphertext: '',
            dataKeyId: key.id,
            metadata,
            keepMetadata: options.metadata === undefined,
            now,
            updatedBy,
          };
          row.ciphertext = sealSecret(key, binding(row), plaintext);
          const written =
            current === undefined
              ? await insertIfKeyActive(this.#db, row)
              : await updateIfUnchanged(this.#db, row, current);
          if (written) {
            version = row.version;
            this.#hints.wrote(scope, name, key, { version: row.version, createdAt: row.createdAt });
            return;
          }
          this.#hints.forget(scope, name);
          if (!(await isDataKeyActive(this.#db, key.id))) {
            keyChanges += 1;
            if (keyChanges === MAX_WRITE_ATTEMPTS) {
              throw new LockboxError(
                'VERSION_CONFLICT',
                `"${scope}/${name}" was not written: its scope's data key kept changing`,
                { details: { scope, name } },
              );
            }
            continue;
          }
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
  }

  async #row(scope: string, name: string): Promise<SecretRow | undefined> {
    // Compiled once, like #valueOnly's select: this is the audited read's select.
    this.#rowSql ??= markPrepared(
      this.#db
        .selectFrom('lockbox_secrets')
        .select(SECRET_COLUMNS)
        .where('scope', '=', '')
        .where('name', '=', '')
        .compile().sql,
    );
    const query: CompiledQuery<SecretRow> = CompiledQuery.raw(this.#rowSql, [scope, name]);
    const { rows } = await this.#db.executeQuery(query);
    return rows[0];
  }

  /**
   * Decrypts a stored row; errors name the scope/name and the key needed. A
   * ciphertext put back under another version (or another life of the row) is
   * SECRET_UNDECRYPTABLE with reason DECRYPT_FAILED, like any tampering.
   */
  async decryptRow(row: SecretBinding & { ciphertext: string }): Promise<Buffer> {
    try {
      const parsed = parseCiphertext(row.ciphertext);
      // A warm key is taken synchronously: awaiting open() would cost a promise per read.
      const key = this.#keys.cached(parsed.keyId) ?? (await this.#keys.open(parsed.keyId));
      return openSecret(parsed, key, row);
    } catch (err) {
      if (!(err instanceof LockboxError)) throw err;
      const needs =
        err.details.fingerprint === undefined
          ? ''
          : `; it needs master key ${String(err.details.fingerprint)}`;
      throw new LockboxError(
        'SECRET_UNDECRYPTABLE',
        `secret "${row.scope}/${row.name}" cannot be decrypted (${err.code})${needs}`,
        {
          cause: err,
          details: { ...err.details, scope: row.scope, name: row.name, reason: err.code },
        },
      );
    }
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
        const row = await this.#row(scope, name);
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
   * select of the two columns decryption needs, then the decryption — no record
   * object (this is the hot read path; bench/vault.js measures it).
   */
  async #valueOnly(scope: string, name: string): Promise<Buffer> {
    validateScope(scope);
    validateName(name);
    // The statement never changes, so it is compiled once; building and compiling
    // it through Kysely on every read cost about a third of a warm read on SQLite.
    this.#valueSql ??= markPrepared(
      this.#db
        .selectFrom('lockbox_secrets')
        .select(['value_type', 'ciphertext', 'version', 'created_at'])
        .where('scope', '=', '')
        .where('name', '=', '')
        .compile().sql,
    );
    const query: CompiledQuery<
      Pick<SecretRow, 'value_type' | 'ciphertext' | 'version' | 'created_at'>
    > = CompiledQuery.raw(this.#valueSql, [scope, name]);
    const { rows } = await this.#db.executeQuery(query);
    const row = rows[0];
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
    const row = await this.#db
      .selectFrom('lockbox_secrets')
      .select('version')
      .where('scope', '=', scope)
      .where('name', '=', name)
      .executeTakeFirst();
    return row !== undefined;
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
        const result = await this.#db
          .deleteFrom('lockbox_secrets')
          .where('scope', '=', scope)
          .where('name', '=', name)
          .executeTakeFirst();
        this.#hints.forget(scope, name);
        return Number(result.numDeletedRows) > 0;
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
    let query = this.#db
      .selectFrom('lockbox_secrets')
      .select(SECRET_COLUMNS)
      .orderBy('scope')
      .orderBy('name');
    if (options.scope !== undefined)
      query = query.where('scope', '=', validateScope(options.scope));
    const rows = await query.execute();
    const listed: ListedSecret[] = [];
    for (const row of rows) {
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
   * and all: compared as a substring, never with LIKE, whose case rules differ
   * between SQLite and PostgreSQL); with `after`, only those ordered after that
   * name — a cursor that stays stable while scopes come and go; with `limit`, at
   * most that many.
   */
  async scopes(
    options: { prefix?: string; after?: string; limit?: number } = {},
  ): Promise<{ scope: string; secrets: number }[]> {
    const { prefix, after, limit } = options;
    let query = this.#db
      .selectFrom('lockbox_secrets')
      .select((eb) => ['scope', eb.fn.countAll<string | number>().as('count')]);
    if (prefix !== undefined && prefix !== '') {
      // Both dialects count substr's length in characters (code points), as Array.from does.
      const length = Array.from(prefix).length;
      query = query.where((eb) =>
        eb(eb.fn('substr', ['scope', eb.lit(1), eb.val(length)]), '=', prefix),
      );
    }
    if (after !== undefined) query = query.where('scope', '>', after);
    query = query.groupBy('scope').orderBy('scope');
    if (limit !== undefined) query = query.limit(limit);
    const rows = await query.execute();
    return rows.map((r) => ({ scope: r.scope, secrets: Number(r.count) }));
  }
}
