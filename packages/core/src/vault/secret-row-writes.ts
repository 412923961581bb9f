/**
 * The statements that write a secret row, each landing only when its condition
 * still holds, so that the version bound into the ciphertext is the one stored
 * (see secrets.ts for the write protocol): insert while no row exists, update
 * while the row is at the version and created_at read — both only while the data
 * key sealed with is still active.
 */
import { type Kysely, sql } from 'kysely';
import type { LockboxSchema, ValueType } from '../store/schema.js';

type Db = Kysely<LockboxSchema>;

export const SECRET_COLUMNS = [
  'scope',
  'name',
  'version',
  'value_type',
  'ciphertext',
  'data_key_id',
  'metadata',
  'created_at',
  'updated_at',
  'updated_by',
] as const;

/** A secret row about to be written. */
export interface NewRow {
  scope: string;
  name: string;
  /** The version this write stores, bound into `ciphertext`. */
  version: number;
  /** The row's created_at (the stored one when the row exists), bound into `ciphertext`. */
  createdAt: string;
  type: ValueType;
  ciphertext: string;
  dataKeyId: string;
  metadata: string | null;
  /** Keep the stored metadata when the caller gave none. */
  keepMetadata: boolean;
  now: string;
  updatedBy: string | null;
}

/** The stored version and created_at of a row, or undefined when there is none. */
export async function storedVersion(
  db: Db,
  scope: string,
  name: string,
): Promise<{ version: number; createdAt: string } | undefined> {
  const row = await db
    .selectFrom('lockbox_secrets')
    .select(['version', 'created_at'])
    .where('scope', '=', scope)
    .where('name', '=', name)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { version: Number(row.version), createdAt: row.created_at };
}

/**
 * Inserts a new row (version 1), only if `dataKeyId` is still the active data
 * key and no row exists yet. Checking the key's state inside the writing
 * statement is what makes writes safe during a re-key: a writer that looked the
 * key up before the switch cannot store a row under a key that is about to be
 * destroyed (the re-key's final check waits for statements already in flight;
 * see rotation/data-rekey.ts). False when nothing was written.
 */
export async function insertIfKeyActive(db: Db, row: NewRow): Promise<boolean> {
  const inserted = await db
    .insertInto('lockbox_secrets')
    .columns(SECRET_COLUMNS)
    .expression(
      db
        .selectFrom('lockbox_data_keys')
        .select((eb) => [
          eb.cast<string>(eb.val(row.scope), 'text').as('scope'),
          eb.cast<string>(eb.val(row.name), 'text').as('name'),
          sql.lit(row.version).as('version'),
          eb.cast<ValueType>(eb.val(row.type), 'text').as('value_type'),
          eb.cast<string>(eb.val(row.ciphertext), 'text').as('ciphertext'),
          eb.cast<string>(eb.val(row.dataKeyId), 'text').as('data_key_id'),
          eb.cast<string | null>(eb.val(row.metadata), 'text').as('metadata'),
          eb.cast<string>(eb.val(row.createdAt), 'text').as('created_at'),
          eb.cast<string>(eb.val(row.now), 'text').as('updated_at'),
          eb.cast<string | null>(eb.val(row.updatedBy), 'text').as('updated_by'),
        ])
        .where('id', '=', row.dataKeyId)
        .where('state', '=', 'active'),
    )
    .onConflict((oc) => oc.columns(['scope', 'name']).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * Overwrites the row, only if it is still at the version and created_at read
 * (so the version sealed into the ciphertext is the one stored) and `dataKeyId`
 * is still active. False when nothing was written.
 */
export async function updateIfUnchanged(
  db: Db,
  row: NewRow,
  current: { version: number; createdAt: string },
): Promise<boolean> {
  const updated = await db
    .updateTable('lockbox_secrets')
    .set({
      version: row.version,
      value_type: row.type,
      ciphertext: row.ciphertext,
      data_key_id: row.dataKeyId,
      ...(row.keepMetadata ? {} : { metadata: row.metadata }),
      updated_at: row.now,
      updated_by: row.updatedBy,
    })
    .where('scope', '=', row.scope)
    .where('name', '=', row.name)
    .where('version', '=', current.version)
    .where('created_at', '=', current.createdAt)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('lockbox_data_keys')
          .select('id')
          .where('id', '=', row.dataKeyId)
          .where('state', '=', 'active'),
      ),
    )
    .executeTakeFirst();
  return Number(updated.numUpdatedRows ?? 0n) > 0;
}

export async function isDataKeyActive(db: Db, dataKeyId: string): Promise<boolean> {
  const key = await db
    .selectFrom('lockbox_data_keys')
    .select('state')
    .where('id', '=', dataKeyId)
    .executeTakeFirst();
  return key?.state === 'active';
}
