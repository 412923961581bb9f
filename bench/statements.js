/**
 * Statements per operation (issue 15): how many SQL statements an audited
 * `secrets.get`, an audited `secrets.set` and an unaudited `secrets.set` send to
 * the database, on SQLite and PostgreSQL, warm (after a few operations of each,
 * so one-off work such as creating the audit key is not counted). A count does
 * not depend on the machine's load, so it settles what wall-clock ratios on a
 * shared machine cannot.
 *
 * SQLite counts every statement better-sqlite3 runs (begin and commit included);
 * PostgreSQL counts every query sent on a pool connection, which is one round
 * trip each (begin and commit included).
 *
 * Usage: node bench/statements.js [--sql] (--sql prints each statement)
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { importBuilt } from './lib/built.js';
import { DIALECTS, freshDatabase } from './lib/databases.js';

const core = await importBuilt('core');
const show = process.argv.includes('--sql');
/** @type {string[]} */
let seen = [];

let patched = false;

/**
 * Notes every execution of a better-sqlite3 statement (run, get, all, iterate),
 * however it was prepared: Lockbox's statement cache reuses compiled statements,
 * so counting prepare calls would miss them.
 * @param {import('better-sqlite3').Database} db
 */
function countStatementRuns(db) {
  if (patched) return;
  patched = true;
  const proto = Object.getPrototypeOf(db.prepare('select 1'));
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = proto[method];
    proto[method] = function (/** @type {unknown[]} */ ...args) {
      seen.push(this.source);
      return original.apply(this, args);
    };
  }
}

/** better-sqlite3 and pg, each statement noted in `seen`. */
const countingDrivers = {
  sqlite: (/** @type {string} */ path) => {
    const db = new Database(path);
    countStatementRuns(db);
    return db;
  },
  postgres: (/** @type {string} */ connectionString) => {
    const pool = new pg.Pool({ connectionString, max: 4 });
    pool.on('connect', (client) => {
      const query = client.query;
      client.query = /** @type {any} */ (
        (/** @type {any[]} */ ...args) => {
          seen.push(typeof args[0] === 'string' ? args[0] : args[0].text);
          return query.apply(client, args);
        }
      );
    });
    return pool;
  },
};

/** The statements `run` sends. */
async function count(label, run) {
  seen = [];
  await run();
  const statements = seen;
  seen = [];
  if (show) console.log(`  -- ${label}\n${statements.map((s) => `     ${s}`).join('\n')}`);
  return statements.length;
}

for (const dialect of DIALECTS) {
  const database = await freshDatabase(dialect);
  const keyring = core.Keyring.fromBytes(core.generateMasterKey());
  const plain = await core.openLockbox({
    database: database.url,
    drivers: countingDrivers,
    keyring,
  });
  const audited = await core.openLockbox({
    database: database.url,
    drivers: countingDrivers,
    keyring,
    audit: true,
  });
  try {
    // Each handle writes its own secrets (as one application instance rewrites
    // its own), so a warm set is one this handle wrote last.
    for (let i = 0; i < 3; i++) {
      await audited.secrets.set('bench', `a${i}`, 'x'.repeat(64));
      await audited.secrets.get('bench', `a${i}`);
      await plain.secrets.set('bench', `p${i}`, 'x'.repeat(64));
      await plain.secrets.get('bench', `p${i}`);
    }
    const results = {
      'get, audit log on': await count('get, audit log on', () =>
        audited.secrets.get('bench', 'a1'),
      ),
      'set, audit log on': await count('set, audit log on', () =>
        audited.secrets.set('bench', 'a1', 'y'.repeat(64)),
      ),
      'set, audit log off': await count('set, audit log off', () =>
        plain.secrets.set('bench', 'p2', 'y'.repeat(64)),
      ),
      'set, audit log off, a secret this handle has not written': await count(
        'set, audit log off, a secret this handle has not written',
        () => plain.secrets.set('bench', 'a2', 'y'.repeat(64)),
      ),
      'get, audit log off': await count('get, audit log off', () =>
        plain.secrets.get('bench', 'p2'),
      ),
    };
    console.log(`${dialect}: statements per operation (warm)`);
    for (const [what, n] of Object.entries(results)) console.log(`  ${what}: ${n}`);
  } finally {
    await audited.close();
    await plain.close();
    await database.drop();
  }
}
