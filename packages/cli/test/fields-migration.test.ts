/**
 * The migration an application makes from its own ENCRYPTION_KEY to Lockbox,
 * through the CLI as an operator runs it: four credential tables (one keyed by
 * two columns, one by a text key) holding plaintext, Fernet and `v2:` values
 * written by Python's `cryptography`, declared in lockbox.json, adopted with one
 * `lockbox rotate adopt`, then `rotate master` and `rotate data`; every value
 * then reads back identical through `lockbox fields decrypt`, and no output of
 * any command holds a plaintext (the values are canaries).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeMasterKeyFile } from '@lockbox/core';
import { DIALECTS, pythonLegacy } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { type CliResult, initialisedStore, SPAWNING } from './helpers/cli.js';

type Format = 'plaintext' | 'fernet' | 'v2';

interface AppRow {
  table: string;
  column: string;
  /** The --key flags that name the row. */
  key: string[];
  stored: string;
  plaintext: string;
}

/** Python's cases whose plaintext is non-empty UTF-8 (so stdout carries it as text). */
const textCases = (cases: readonly { plaintext: string }[]) =>
  cases
    .map((c, i) => ({ i, text: Buffer.from(c.plaintext, 'hex').toString('utf8') }))
    .filter(
      ({ i, text }) => text !== '' && Buffer.from(text).toString('hex') === cases[i]?.plaintext,
    );

const FERNET = textCases(pythonLegacy.fernet).map(({ i, text }) => ({
  key: pythonLegacy.fernet[i]!.key,
  stored: pythonLegacy.fernet[i]!.token,
  text,
}));
const V2 = textCases(pythonLegacy.v2).map(({ i, text }) => ({
  key: pythonLegacy.v2[i]!.key,
  stored: pythonLegacy.v2[i]!.text,
  text,
}));

/** The value of row `n` of a table in `format` (plaintexts are canaries: unique, greppable). */
function legacy(format: Format, n: number, table: string): { stored: string; plaintext: string } {
  if (format === 'fernet') {
    const c = FERNET[n % FERNET.length]!;
    return { stored: c.stored, plaintext: c.text };
  }
  if (format === 'v2') {
    const c = V2[n % V2.length]!;
    return { stored: c.stored, plaintext: c.text };
  }
  const plaintext = `CANARY-${table}-${n}-sk_live_${'z'.repeat(n + 3)}`;
  return { stored: plaintext, plaintext };
}

const FORMATS: Format[] = ['plaintext', 'fernet', 'v2'];

describe.each(DIALECTS)('migrating an application to Lockbox on %s', SPAWNING, (dialect) => {
  it('declares four tables, adopts them in one command, rotates both ways, and reads every value back', async () => {
    const store = await initialisedStore(dialect);
    try {
      const rows: AppRow[] = [];
      await store.withLibrary(async (lockbox) => {
        const db = lockbox.vault.store.db;
        await sql`create table user_keys (user_id integer not null, provider varchar(32) not null, api_key text, primary key (user_id, provider))`.execute(
          db,
        );
        await sql`create table oauth_tokens (connection_id text not null primary key, token text)`.execute(
          db,
        );
        await sql`create table db_passwords (id bigint not null primary key, password text)`.execute(
          db,
        );
        await sql`create table webhooks (id integer primary key, signing_secret text)`.execute(db);
        for (const [n, format] of FORMATS.entries()) {
          // One user with a key per provider: the rows share the first key column.
          const provider = ['github', 'stripe', 'slack'][n] as string;
          const v = legacy(format, n, `user_keys_${provider}`);
          await sql`insert into user_keys values (${7}, ${provider}, ${v.stored})`.execute(db);
          rows.push({
            table: 'user_keys',
            column: 'api_key',
            key: ['user_id=7', `provider=${provider}`],
            ...v,
          });
          const conn = `conn-${n}/é'x`;
          const o = legacy(format, n + 1, 'oauth_tokens');
          await sql`insert into oauth_tokens values (${conn}, ${o.stored})`.execute(db);
          rows.push({ table: 'oauth_tokens', column: 'token', key: [conn], ...o });
          const id = (9007199254740993n + BigInt(n)).toString();
          const p = legacy(format, n + 2, 'db_passwords');
          await sql`insert into db_passwords values (${id}, ${p.stored})`.execute(db);
          rows.push({ table: 'db_passwords', column: 'password', key: [`id=${id}`], ...p });
          const w = legacy(format, n + 4, 'webhooks');
          await sql`insert into webhooks values (${n + 1}, ${w.stored})`.execute(db);
          rows.push({ table: 'webhooks', column: 'signing_secret', key: [`id=${n + 1}`], ...w });
        }
      });
      writeFileSync(
        join(store.dir, 'lockbox.json'),
        JSON.stringify({
          fields: [
            { table: 'user_keys', column: 'api_key', primaryKey: ['user_id', 'provider'] },
            { table: 'oauth_tokens', column: 'token', primaryKey: 'connection_id' },
            { table: 'db_passwords', column: 'password', primaryKey: ['id'] },
            { table: 'webhooks', column: 'signing_secret', primaryKey: 'id', scope: 'webhooks' },
          ],
        }),
      );
      const keyFlags: string[] = [];
      for (const [i, c] of FERNET.entries()) {
        writeFileSync(join(store.dir, `fernet-${i}.key`), `${c.key}\n`, { mode: 0o600 });
        keyFlags.push('--fernet-key-file', `fernet-${i}.key`);
      }
      for (const [i, c] of V2.entries()) {
        await writeMasterKeyFile(join(store.dir, `v2-${i}.key`), Buffer.from(c.key, 'hex'));
        keyFlags.push('--v2-key-file', `v2-${i}.key`);
      }
      const outputs: CliResult[] = [];
      const run = async (args: string[], env: Record<string, string> = {}) => {
        const result = await store.run(args, { env });
        outputs.push(result);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        return result;
      };

      const adopted = await run(['rotate', 'adopt', ...keyFlags, '--plaintext', '--json']);
      const report = JSON.parse(adopted.stdout) as {
        registered: { table: string }[];
        fields: { table: string; adopted: Record<Format, number>; failed: number }[];
      };
      expect(report.registered.map((r) => r.table).sort()).toEqual([
        'db_passwords',
        'oauth_tokens',
        'user_keys',
        'webhooks',
      ]);
      for (const field of report.fields) {
        expect(field.adopted, field.table).toEqual({ plaintext: 1, fernet: 1, v2: 1 });
        expect(field.failed).toBe(0);
      }

      // The configured key file follows the rotation: lockbox.key now holds the new key.
      await run(['rotate', 'master', '--write-new-key-file', 'new.key']);
      const rotated = {};
      const data = await run(['rotate', 'data', '--json']);
      expect(JSON.parse(data.stdout)).toMatchObject({ rows: rows.length, unreadable: 0 });

      // Read back through the configured (new) key.
      for (let start = 0; start < rows.length; start += 4) {
        await Promise.all(
          rows.slice(start, start + 4).map(async (row) => {
            const keys = row.key.flatMap((k) => ['--key', k]);
            const read = await run(
              ['fields', 'decrypt', '--table', row.table, '--column', row.column, ...keys, '-n'],
              rotated,
            );
            outputs.pop();
            expect(read.stdout, `${row.table} ${row.key.join(' ')}`).toBe(row.plaintext);
          }),
        );
      }
      // Python's short plaintexts ("x") would match anything; the longer ones are canaries.
      const canaries = rows.filter((r) => r.plaintext.length >= 12);
      expect(canaries.length).toBeGreaterThan(rows.length / 2);
      for (const output of outputs) {
        for (const row of canaries) {
          expect(output.stdout).not.toContain(row.plaintext);
          expect(output.stderr).not.toContain(row.plaintext);
        }
      }
    } finally {
      await store.drop();
    }
  });
});
