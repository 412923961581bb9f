/**
 * The database drivers core loads itself when an application gives a URL and
 * no `drivers`: better-sqlite3 for SQLite, pg for PostgreSQL. Both are optional
 * peer dependencies, imported only for the dialect in use, so an application on
 * PostgreSQL never needs a native SQLite build. A missing package is
 * STORE_DRIVER_MISSING naming what to install.
 */
import { LockboxError } from '../errors.js';
import type { DatabaseDrivers, DialectName } from './connect.js';

const PACKAGE: Record<DialectName, string> = { sqlite: 'better-sqlite3', postgres: 'pg' };

const loaded = new Map<DialectName, Promise<DatabaseDrivers>>();

function isModuleNotFound(err: unknown, name: string): boolean {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false;
  const code = (err as { code: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  // Only the driver itself missing: a driver that is installed but fails to
  // load (a native build for another Node) is not "missing" and is rethrown.
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    message.includes(`'${name}'`)
  );
}

async function load(dialect: DialectName): Promise<DatabaseDrivers> {
  const name = PACKAGE[dialect];
  try {
    if (dialect === 'sqlite') {
      const { default: Database } = await import('better-sqlite3');
      return { sqlite: (path) => new Database(path) };
    }
    const { default: pg } = await import('pg');
    // One pool per store; small, since an application usually opens one store.
    return { postgres: (connectionString) => new pg.Pool({ connectionString, max: 10 }) };
  } catch (err) {
    if (!isModuleNotFound(err, name)) throw err;
    throw new LockboxError(
      'STORE_DRIVER_MISSING',
      `${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} databases need the npm package ${name}: run \`npm install ${name}\` in the application (or pass \`drivers\`)`,
      { details: { package: name, dialect } },
    );
  }
}

/** The driver of `dialect`, imported once per process. */
export function loadDrivers(dialect: DialectName): Promise<DatabaseDrivers> {
  let drivers = loaded.get(dialect);
  if (drivers === undefined) {
    drivers = load(dialect);
    // A failed import is not cached: installing the package and retrying works.
    drivers.catch(() => loaded.delete(dialect));
    loaded.set(dialect, drivers);
  }
  return drivers;
}
