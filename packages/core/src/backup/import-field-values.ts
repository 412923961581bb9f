/**
 * Importing a bundle's field values into the target's own tables: each value is
 * re-encrypted under the target's data key for its field and written into the
 * row with the same key, if the target has that row. Nothing is ever inserted.
 *
 * Each value is classified against the target:
 *   update       — the target has the field registered with the same key
 *                  columns and a row whose key prints exactly as the record's
 *                  (CAST(col AS text)), holding another value (or NULL, or a
 *                  value not adopted yet, or one it cannot decrypt)
 *   unchanged    — that row already holds a Lockbox ciphertext of the same bytes
 *   missingRow   — no row has exactly that key (a key that would merely convert
 *                  to another row's, "042" for 42, is no row's key): reported
 *   unregistered — the target has no such field, or keys it by other columns:
 *                  reported per field, its values are not written
 *
 * Apply writes updates with compare-and-swap on the value classified (NULL-safe),
 * in the import's one transaction; a row the application changed meanwhile fails
 * the whole import (VERSION_CONFLICT), so nothing is half-applied. Under the
 * `skip` policy no existing value is replaced, so no field value is written.
 */
import type { Kysely } from 'kysely';
import { LockboxError } from '../errors.js';
import { FieldTable, type KeyValues } from '../rotation/field-table.js';
import type { DialectName } from '../store/connect.js';
import type { LockboxSchema } from '../store/schema.js';
import type { DataKeys } from '../vault/data-keys.js';
import { openFieldValue, sealFieldValue } from '../vault/field-ciphertext.js';
import type { Fields } from '../vault/fields.js';
import { describeRowKey } from '../vault/row-key.js';
import type { FieldValueRecord } from './field-record.js';

type Db = Kysely<LockboxSchema>;

/** How many missing row keys a report lists per field. */
const MAX_LISTED_ROWS = 20;

export type FieldRegistrationState = 'registered' | 'missing' | 'key-columns-differ';

export interface FieldImportCounts {
  table: string;
  column: string;
  registration: FieldRegistrationState;
  /** The target's key columns when they differ from the bundle's. */
  targetPrimaryKey?: string[];
  values: number;
  update: number;
  unchanged: number;
  missingRow: number;
  unregistered: number;
  /** The first missing rows' keys ("user_id=42, provider=github"). */
  missingRows: string[];
  missingRowsTruncated: boolean;
}

export interface FieldImportTarget {
  store: { dialect: DialectName };
  dataKeys: DataKeys;
  fields: Pick<Fields, 'find'>;
}

interface FieldState {
  counts: FieldImportCounts;
  table: FieldTable | undefined;
}

/** The record's key values in `columns` order, or undefined when it names other columns. */
function valuesInOrder(record: FieldValueRecord, columns: readonly string[]): string[] | undefined {
  if (record.keyColumns.length !== columns.length) return undefined;
  const values: string[] = [];
  for (const column of columns) {
    const at = record.keyColumns.indexOf(column);
    if (at < 0) return undefined;
    values.push(record.keyValues[at] as string);
  }
  return values;
}

function valueBytes(record: FieldValueRecord): Buffer {
  return typeof record.value === 'string' ? Buffer.from(record.value, 'utf8') : record.value;
}

export class FieldValueImport {
  readonly #target: FieldImportTarget;
  readonly #db: Db;
  readonly #write: boolean;
  readonly #authorize: ((scope: string) => void) | undefined;
  readonly #fields = new Map<string, FieldState>();

  constructor(
    target: FieldImportTarget,
    db: Db,
    write: boolean,
    authorize: ((scope: string) => void) | undefined,
  ) {
    this.#target = target;
    this.#db = db;
    this.#write = write;
    this.#authorize = authorize;
  }

  /** Per field, in the order first seen. */
  get counts(): FieldImportCounts[] {
    return [...this.#fields.values()].map((f) => f.counts);
  }

  async #state(record: FieldValueRecord): Promise<FieldState> {
    const name = `${record.table}.${record.column}`;
    const known = this.#fields.get(name);
    if (known !== undefined) return known;
    const counts: FieldImportCounts = {
      table: record.table,
      column: record.column,
      registration: 'missing',
      values: 0,
      update: 0,
      unchanged: 0,
      missingRow: 0,
      unregistered: 0,
      missingRows: [],
      missingRowsTruncated: false,
    };
    const state: FieldState = { counts, table: undefined };
    const registration = await this.#target.fields.find(record.table, record.column, this.#db);
    if (registration !== undefined) {
      // A preview's update/unchanged answers reveal the target's values: read access.
      this.#authorize?.(registration.scope);
      if (valuesInOrder(record, registration.primaryKey) === undefined) {
        counts.registration = 'key-columns-differ';
        counts.targetPrimaryKey = [...registration.primaryKey];
      } else {
        counts.registration = 'registered';
        state.table = new FieldTable(registration, this.#target.store.dialect);
        await state.table.prepare(this.#db);
      }
    }
    this.#fields.set(name, state);
    return state;
  }

  /**
   * Classifies a batch of records and, applying with `writes`, writes its
   * updates. Returns the values written (or, previewing, that would be).
   */
  async batch(records: readonly FieldValueRecord[], writes: boolean): Promise<number> {
    const byField = new Map<FieldState, FieldValueRecord[]>();
    for (const record of records) {
      const state = await this.#state(record);
      state.counts.values += 1;
      let group = byField.get(state);
      if (group === undefined) {
        group = [];
        byField.set(state, group);
      }
      group.push(record);
    }
    let written = 0;
    for (const [state, group] of byField) written += await this.#field(state, group, writes);
    return written;
  }

  async #field(
    state: FieldState,
    records: readonly FieldValueRecord[],
    writes: boolean,
  ): Promise<number> {
    const { counts, table } = state;
    if (table === undefined) {
      counts.unregistered += records.length;
      return 0;
    }
    const columns = table.field.primaryKey;
    const keys = records.map((r) => valuesInOrder(r, columns) as string[]);
    const found = new Map<string, string | null>();
    for (const row of await table.readByKeys(this.#db, keys)) {
      found.set(JSON.stringify(row.key), row.value);
    }
    const updates: { key: KeyValues; expected: string | null; plaintext: Buffer }[] = [];
    for (const [i, record] of records.entries()) {
      const key = keys[i] as string[];
      const id = JSON.stringify(key);
      if (!found.has(id)) {
        counts.missingRow += 1;
        if (counts.missingRows.length < MAX_LISTED_ROWS) {
          counts.missingRows.push(describeRowKey(columns, key));
        } else {
          counts.missingRowsTruncated = true;
        }
        continue;
      }
      const stored = found.get(id) ?? null;
      const plaintext = valueBytes(record);
      if (stored !== null && (await this.#holds(table, key, stored, plaintext))) {
        counts.unchanged += 1;
        continue;
      }
      counts.update += 1;
      updates.push({ key, expected: stored, plaintext });
    }
    if (!writes || updates.length === 0) return 0;
    if (!this.#write) return updates.length;
    const dataKey = await this.#target.dataKeys.activeFor(table.field.scope, this.#db);
    const rows = updates.map((u) => {
      const next = sealFieldValue(dataKey, { ...table.field, values: u.key }, u.plaintext);
      u.plaintext.fill(0);
      return { key: u.key, expected: u.expected, next };
    });
    const swapped = await table.compareAndSwap(this.#db, rows);
    if (swapped !== rows.length) {
      throw new LockboxError(
        'VERSION_CONFLICT',
        `the application changed rows of ${table.label} during the import; nothing was imported`,
        { details: { table: table.field.table, column: table.field.column } },
      );
    }
    return swapped;
  }

  /** Whether the stored value is a Lockbox ciphertext of exactly these bytes. */
  async #holds(
    table: FieldTable,
    key: KeyValues,
    stored: string,
    plaintext: Buffer,
  ): Promise<boolean> {
    let current: Buffer;
    try {
      current = await openFieldValue(
        this.#target.dataKeys,
        { ...table.field, values: key },
        stored,
        this.#db,
      );
    } catch (err) {
      if (err instanceof LockboxError) return false;
      throw err;
    }
    const same = current.equals(plaintext);
    current.fill(0);
    return same;
  }
}
