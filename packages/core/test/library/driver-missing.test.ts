/**
 * An application that installed @lockbox/core without the driver its URL
 * needs: a real Node process whose node_modules lacks better-sqlite3 and pg
 * (every other package of this repository linked in, resolved from there with
 * --preserve-symlinks) gets STORE_DRIVER_MISSING naming the package.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatMasterKey, generateMasterKey } from '@lockbox/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../../../..');
const DRIVERS = new Set(['better-sqlite3', 'pg', 'pg-pool', 'pg-protocol', 'pg-types']);

describe('an application without the database driver', () => {
  let app: string;
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'lockbox-app-'));
    const modules = join(app, 'node_modules');
    mkdirSync(join(modules, '@lockbox'), { recursive: true });
    symlinkSync(join(REPO, 'packages', 'core'), join(modules, '@lockbox', 'core'));
    for (const name of readdirSync(join(REPO, 'node_modules'))) {
      if (DRIVERS.has(name) || name === '@lockbox' || name.startsWith('.')) continue;
      symlinkSync(join(REPO, 'node_modules', name), join(modules, name));
    }
    writeFileSync(
      join(app, 'open.mjs'),
      `import { openLockbox } from '@lockbox/core';
try {
  await openLockbox({ database: process.argv[2], masterKey: process.env.ENCRYPTION_KEY });
  console.log(JSON.stringify({ opened: true }));
} catch (err) {
  console.log(JSON.stringify({ code: err.code, message: err.message, details: err.details }));
}
`,
    );
  });
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  function open(database: string) {
    const key = formatMasterKey(generateMasterKey());
    const out = execFileSync(process.execPath, ['--preserve-symlinks', 'open.mjs', database], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ENCRYPTION_KEY: key },
      encoding: 'utf8',
    });
    expect(out).not.toContain(key);
    return JSON.parse(out.trim());
  }

  it('names better-sqlite3 for a SQLite URL and pg for a PostgreSQL one', () => {
    expect(open(`sqlite:${join(app, 'lockbox.db')}`)).toMatchObject({
      code: 'STORE_DRIVER_MISSING',
      details: { package: 'better-sqlite3', dialect: 'sqlite' },
    });
    expect(open('postgres://postgres@127.0.0.1:5432/test')).toMatchObject({
      code: 'STORE_DRIVER_MISSING',
      details: { package: 'pg', dialect: 'postgres' },
    });
  });
});
