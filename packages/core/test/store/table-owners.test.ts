/**
 * One owner per table: every statement on a Lockbox table is in that table's
 * row module in store/ (docs/architecture.md, Table owners). Copies of a
 * statement drift (the `LIKE` on SQLite that skipped `LOCKBOX:prod` in exports
 * was one), so this reads every source file of every package and fails when a
 * file outside a table's owners names the table in SQL: a Kysely builder call
 * (`selectFrom('lockbox_x')`, `insertInto`, `updateTable`, `deleteFrom`, joins,
 * `table: 'lockbox_x'` for a generic helper) or SQL text (`from lockbox_x`,
 * `into`, `update`, `join`). Comments are ignored. The tables come from the
 * schema, so a new table without an owner here fails too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../../..');
const core = 'packages/core/src/store/';

/**
 * The files that may run SQL on each table. A secrets statement that joins data
 * keys (the active-key guard, the per-key counts) belongs to the secrets owner.
 */
const OWNERS: Record<string, readonly string[]> = {
  lockbox_secrets: ['secret-rows.ts', 'secret-row-counts.ts'],
  lockbox_data_keys: [
    'data-key-rows.ts',
    'data-key-state-rows.ts',
    'data-key-backup-rows.ts',
    'secret-rows.ts',
    'secret-row-counts.ts',
  ],
  lockbox_rotation_jobs: ['rotation-job-rows.ts'],
  lockbox_locks: ['lock-rows.ts'],
  lockbox_meta: ['meta-rows.ts'],
  lockbox_audit: ['audit-rows.ts'],
  lockbox_tokens: ['token-rows.ts'],
  lockbox_fields: ['field-rows.ts'],
  lockbox_master_keys: ['master-key-rows.ts'],
};

/**
 * Files that name tables without running SQL on them: schema history (creates
 * and alters every table) and the MAC domains (a table name is a MAC's domain
 * tag and a report's label there).
 */
const NOT_SQL = new Set([
  `${core}migrations.ts`,
  `${core}schema.ts`,
  'packages/core/src/vault/row-macs.ts',
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Block and line comments out, string contents kept (SQL text lives in strings). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const BUILDER =
  /\b(?:selectFrom|insertInto|updateTable|deleteFrom|innerJoin|leftJoin|rightJoin|fullJoin|mergeInto|table)\(\s*\[?\s*['"`](lockbox_[a-z_]+)/g;
const HELPER_ARGUMENT = /\btable:\s*['"`](lockbox_[a-z_]+)['"`]/g;
const SQL_TEXT = /\b(?:from|into|update|join)\s+"?(lockbox_[a-z_]+)\b/gi;

/** The tables a file runs SQL on, by the patterns above. */
function tablesUsedIn(text: string): Set<string> {
  const code = withoutComments(text);
  const found = new Set<string>();
  for (const pattern of [BUILDER, HELPER_ARGUMENT, SQL_TEXT]) {
    for (const match of code.matchAll(pattern)) found.add(match[1] as string);
  }
  return found;
}

const schemaTables = [
  ...readFileSync(join(root, core, 'schema.ts'), 'utf8').matchAll(/^\s+(lockbox_[a-z_]+):/gm),
].map((m) => m[1] as string);

/** Test code, not product: it reads and edits rows by hand, as an attacker would. */
const TEST_PACKAGES = new Set(['test-helpers']);

const files = readdirSync(join(root, 'packages')).flatMap((pkg) => {
  if (TEST_PACKAGES.has(pkg)) return [];
  try {
    return sourceFiles(join(root, 'packages', pkg, 'src'));
  } catch {
    return [];
  }
});

describe('one owner per table', () => {
  it('the scan sees the schema and the sources', () => {
    expect(schemaTables).toContain('lockbox_secrets');
    expect(schemaTables.length).toBeGreaterThanOrEqual(9);
    expect(files.length).toBeGreaterThan(100);
    // The patterns find what they look for (so an empty result below means something).
    expect([...tablesUsedIn("db.selectFrom('lockbox_meta')")]).toEqual(['lockbox_meta']);
    expect([...tablesUsedIn('`update lockbox_audit set`')]).toEqual(['lockbox_audit']);
    expect([...tablesUsedIn("// selectFrom('lockbox_meta')")]).toEqual([]);
  });

  it('every table in the schema has owners, and every owner file exists', () => {
    expect(Object.keys(OWNERS).sort()).toEqual(
      schemaTables.filter((t) => t !== 'lockbox_migration').sort(),
    );
    const names = new Set(files.map((f) => relative(root, f)));
    for (const owner of new Set(Object.values(OWNERS).flat())) {
      expect(names, owner).toContain(`${core}${owner}`);
    }
  });

  it('no file outside a table’s owners runs SQL on it', () => {
    const strays: string[] = [];
    for (const file of files) {
      const path = relative(root, file);
      if (NOT_SQL.has(path)) continue;
      for (const table of tablesUsedIn(readFileSync(file, 'utf8'))) {
        const owners = OWNERS[table];
        if (owners === undefined) continue; // lockbox_migration: store/migrate.ts's own
        if (!owners.some((owner) => path === `${core}${owner}`)) strays.push(`${path}: ${table}`);
      }
    }
    expect(strays.sort()).toEqual([]);
  });
});
