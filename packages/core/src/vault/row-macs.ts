/**
 * What each authenticated row's MAC covers: one function per table over its stored
 * columns, each with its own domain tag, so a MAC made for one table never checks
 * for another. docs/format.md lists the same columns in the same order.
 *
 * Columns left out are left out on purpose: lockbox_tokens.last_used_at and
 * created_by (bookkeeping, decide nothing), lockbox_fields.created_at and
 * lockbox_master_keys.created_at (informational).
 */
import type { FieldTable, MasterKeyTable, TokenTable } from '../store/schema.js';
import type { IntegrityKey, MacPart } from './integrity-key.js';

export interface MacDomain<Row> {
  /** The domain tag (first part of the MAC input). */
  readonly tag: string;
  /** The table, for reports. */
  readonly table: string;
  /** The row's id as reports name it (never a value). */
  rowId(row: Row): string;
  parts(row: Row): MacPart[];
}

export type TokenMacColumns = Pick<
  TokenTable,
  'id' | 'name' | 'hash' | 'permissions' | 'created_at' | 'revoked_at'
>;

export const TOKEN_MAC: MacDomain<TokenMacColumns> = {
  tag: 'lockbox_tokens',
  table: 'lockbox_tokens',
  rowId: (row) => row.id,
  parts: (row) => [row.id, row.name, row.hash, row.permissions, row.created_at, row.revoked_at],
};

/**
 * A field registration's MAC covers every stored column that decides where a
 * field's ciphertext lives and which key encrypts it (whatever the text encoding
 * of primary_key is, single column or several).
 */
export type FieldMacColumns = Pick<
  FieldTable,
  'table_name' | 'column_name' | 'primary_key' | 'scope'
>;

export const FIELD_MAC: MacDomain<FieldMacColumns> = {
  tag: 'lockbox_fields',
  table: 'lockbox_fields',
  rowId: (row) => `${row.table_name}.${row.column_name}`,
  parts: (row) => [row.table_name, row.column_name, row.primary_key, row.scope],
};

export type MasterKeyMacColumns = Pick<MasterKeyTable, 'fingerprint' | 'state' | 'retired_at'>;

export const MASTER_KEY_MAC: MacDomain<MasterKeyMacColumns> = {
  tag: 'lockbox_master_keys',
  table: 'lockbox_master_keys',
  rowId: (row) => row.fingerprint,
  parts: (row) => [row.fingerprint, row.state, row.retired_at],
};

/** A lockbox_meta entry whose value is authenticated (its MAC in the entry `<key>.mac`). */
export interface MetaMacColumns {
  key: string;
  value: string;
}

export const META_MAC: MacDomain<MetaMacColumns> = {
  tag: 'lockbox_meta',
  table: 'lockbox_meta',
  rowId: (row) => row.key,
  parts: (row) => [row.key, row.value],
};

export function rowMac<Row>(key: IntegrityKey, domain: MacDomain<Row>, row: Row): string {
  return key.mac(domain.tag, domain.parts(row));
}

export function rowVerifies<Row>(
  key: IntegrityKey,
  domain: MacDomain<Row>,
  row: Row,
  mac: string | null | undefined,
): boolean {
  return key.verify(domain.tag, domain.parts(row), mac);
}
