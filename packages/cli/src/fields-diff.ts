/**
 * The differences between the fields a config file declares and the fields the
 * store has registered, as `lockbox fields sync` and `lockbox rotate adopt` use
 * them. Read-only.
 *
 * A registered field the config does not declare is to be unregistered only
 * when no row holds its ciphertext; otherwise it is kept (unregistering it would
 * hide those rows from rotation, and a re-key would destroy the key they need).
 */
import type { FieldRegistration, Lockbox } from '@lockbox/core';
import type { DeclaredField } from './fields-config.js';

export interface FieldsDiff {
  /** Declared, not registered. */
  add: FieldRegistration[];
  /** Declared and registered, with other key columns or scope. */
  change: { table: string; column: string; changes: string[] }[];
  /** Registered, not declared, and no row holds its ciphertext. */
  remove: FieldRegistration[];
  /** Registered, not declared, but rows hold its ciphertext (-1: its table cannot be read). */
  kept: { table: string; column: string; rows: number }[];
}

export function defaultScope(field: { table: string; column: string; scope?: string }): string {
  return field.scope ?? `field:${field.table}.${field.column}`;
}

export async function diffFields(
  lockbox: Lockbox,
  declared: readonly DeclaredField[],
): Promise<FieldsDiff> {
  const registered = await lockbox.fields.list();
  const diff: FieldsDiff = { add: [], change: [], remove: [], kept: [] };
  for (const want of declared) {
    const have = registered.find((r) => r.table === want.table && r.column === want.column);
    const scope = defaultScope(want);
    if (have === undefined) {
      diff.add.push({ table: want.table, column: want.column, primaryKey: want.primaryKey, scope });
      continue;
    }
    const changes: string[] = [];
    if (have.primaryKey.join(',') !== want.primaryKey.join(',')) {
      changes.push(`key (${have.primaryKey.join(', ')}) → (${want.primaryKey.join(', ')})`);
    }
    if (have.scope !== scope) changes.push(`scope ${have.scope} → ${scope}`);
    if (changes.length > 0) diff.change.push({ table: want.table, column: want.column, changes });
  }
  for (const have of registered) {
    if (declared.some((d) => d.table === have.table && d.column === have.column)) continue;
    const rows = await lockbox.fields.lockboxRows(have.table, have.column).catch(() => -1);
    if (rows === 0) diff.remove.push(have);
    else diff.kept.push({ table: have.table, column: have.column, rows });
  }
  return diff;
}
