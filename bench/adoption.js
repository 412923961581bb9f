/**
 * Adoption benchmark (issue 13), on SQLite and PostgreSQL, at 100,000 and
 * 1,000,000 rows of a composite-key application table
 * `user_keys (user_id integer, provider text, api_key text, primary key (user_id, provider))`
 * holding plaintext API keys (64 bytes):
 *
 * - adoption rows/s: `lockbox.rotation.adopt({ plaintext: true })`, the whole
 *   job (row-key check, proof of the first row, keyset walk over the whole key,
 *   encryption bound to every key column, compare-and-swap per batch, audit);
 * - beside it, in the same run, the hand-written loop the re-key benchmark uses
 *   (bench/rotation.js `hand`), written for this table: select a batch in key
 *   order, encrypt each value under one data key with the same associated data,
 *   write it back (SQLite: prepared per-row UPDATEs in a transaction;
 *   PostgreSQL: one UPDATE … FROM unnest(…) per batch), no bookkeeping; it runs
 *   on an identical copy of the table (`user_keys_hand`), since adoption
 *   consumes its input;
 * - peak RSS of the adoption process, which must not grow with the number of rows.
 *
 * Each operation runs in its own child process: seed → hand → adopt.
 *
 * Usage: node --expose-gc bench/adoption.js [--quick] [--sizes 100000,300000]
 *   --quick: 10,000 and 50,000 rows
 *   --sizes: these row counts (LOCKBOX_BENCH_ADOPTION_SIZES under `npm run bench`)
 */
import { spawnSync } from 'node:child_process';
import { createSecretKey, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { importBuilt } from './lib/built.js';
import {
  manualTarget as issueTarget,
  sizeLabel as label,
  mib,
  rssGroup,
  runChild as runChildOf,
} from './lib/child-runs.js';
import { DIALECTS, drivers, freshDatabase } from './lib/databases.js';
import { summarise } from './lib/measure.js';
import { benchOptions } from './lib/options.js';
import { printGroup, printTargets, row, startRun, withRatios, writeResult } from './lib/results.js';

const SELF = fileURLToPath(import.meta.url);
const BATCH = 1000;
const PROVIDERS = [
  'aws',
  'azure',
  'github',
  'gitlab',
  'google',
  'openai',
  'slack',
  'stripe',
  'twilio',
  'zoom',
];

const CREATE = (table) =>
  `create table ${table} (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`;

/** Child: the store, the field registered, and both tables filled with the same plaintext rows. */
async function seed(core, url, key, rows) {
  const lockbox = await core.openLockbox({
    database: url,
    drivers,
    keyring: core.Keyring.fromBytes(key),
    mode: 'create',
  });
  const users = Math.ceil(rows / PROVIDERS.length);
  const providers = PROVIDERS.map((p) => `('${p}')`).join(', ');
  // 64 bytes, different per row, as an application's API keys are.
  const value = (u, p) =>
    `'sk-live-' || ${u} || '-' || ${p} || '-' || substr('${randomBytes(48).toString('hex')}', 1, 64 - 10 - length(${u} || '') - length(${p}))`;
  try {
    const db = lockbox.vault.store.db;
    const { sql } = await import('kysely');
    for (const table of ['user_keys', 'user_keys_hand']) {
      await sql.raw(CREATE(table)).execute(db);
      await sql
        .raw(
          `with recursive u(x) as (select 1 union all select x + 1 from u where x < ${users}) insert into ${table} select x, p.column1, ${value('x', 'p.column1')} from u, (values ${providers}) as p order by 1, 2 limit ${rows}`,
        )
        .execute(db);
    }
    await lockbox.fields.register({
      table: 'user_keys',
      column: 'api_key',
      primaryKey: ['user_id', 'provider'],
    });
    return { rows };
  } finally {
    await lockbox.close();
  }
}

/**
 * Child: the hand-written adoption a developer would write with the driver: one
 * fresh data key, then select a batch in key order, encrypt each value under the
 * field's associated data (table, column, both key columns), update it by key,
 * next batch. Timed whole.
 */
async function hand(core, dialect, url) {
  const idBytes = randomBytes(8);
  const key = createSecretKey(randomBytes(32));
  const seal = (r) =>
    core.encryptToText(
      idBytes,
      key,
      Buffer.from(r.api_key, 'utf8'),
      core.fieldContext(
        'user_keys',
        'api_key',
        ['user_id', 'provider'],
        [String(r.user_id), r.provider],
      ),
    );
  const columns = 'user_id, provider, api_key';
  let rows = 0;
  const started = performance.now();
  if (dialect === 'sqlite') {
    const db = new Database(url);
    db.pragma('journal_mode = wal');
    db.pragma('synchronous = normal');
    const first = db.prepare(
      `select ${columns} from user_keys_hand order by user_id, provider limit ?`,
    );
    const after = db.prepare(
      `select ${columns} from user_keys_hand where (user_id, provider) > (?, ?) order by user_id, provider limit ?`,
    );
    const update = db.prepare(
      'update user_keys_hand set api_key = ? where user_id = ? and provider = ?',
    );
    const write = db.transaction((batch) => {
      for (const r of batch) update.run(seal(r), r.user_id, r.provider);
    });
    let cursor;
    for (;;) {
      const batch = cursor ? after.all(cursor.user_id, cursor.provider, BATCH) : first.all(BATCH);
      if (batch.length === 0) break;
      write(batch);
      rows += batch.length;
      cursor = batch[batch.length - 1];
    }
    db.close();
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let cursor;
    for (;;) {
      const { rows: batch } = cursor
        ? await client.query(
            `select ${columns} from user_keys_hand where (user_id, provider) > ($1, $2) order by user_id, provider limit $3`,
            [cursor.user_id, cursor.provider, BATCH],
          )
        : await client.query(
            `select ${columns} from user_keys_hand order by user_id, provider limit $1`,
            [BATCH],
          );
      if (batch.length === 0) break;
      const sealed = batch.map(seal);
      await client.query(
        'update user_keys_hand as t set api_key = u.c from unnest($1::int[], $2::text[], $3::text[]) as u(i, p, c) where t.user_id = u.i and t.provider = u.p',
        [batch.map((r) => r.user_id), batch.map((r) => r.provider), sealed],
      );
      rows += batch.length;
      cursor = batch[batch.length - 1];
    }
    await client.end();
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows, seconds, rate: rows / seconds };
}

/** Child: Lockbox's adoption of the field, the whole job. */
async function adopt(core, url, key) {
  const lockbox = await core.openLockbox({
    database: url,
    drivers,
    keyring: core.Keyring.fromBytes(key),
    mode: 'open',
  });
  try {
    const started = performance.now();
    const result = await lockbox.rotation.adopt({
      table: 'user_keys',
      column: 'api_key',
      plaintext: true,
    });
    const seconds = (performance.now() - started) / 1000;
    const rows = result.adopted.plaintext;
    if (result.failed + result.conflicts > 0) throw new Error('adoption left rows behind');
    return { rows, seconds, rate: rows / seconds };
  } finally {
    await lockbox.close();
  }
}

/** @param {string[]} args */
async function child([op, dialect, url, keyText, a]) {
  const core = await importBuilt('core');
  const key = Buffer.from(keyText, 'base64');
  let result;
  if (op === 'seed') result = await seed(core, url, key, Number(a));
  else if (op === 'hand') result = await hand(core, dialect, url);
  else if (op === 'adopt') result = await adopt(core, url, key);
  else throw new Error(`unknown operation ${op}`);
  process.stdout.write(
    `${JSON.stringify({ ...result, maxRssMiB: mib(process.resourceUsage().maxRSS) })}\n`,
  );
}

/** @param {(string | number)[]} args */
function runChild(args) {
  return runChildOf(SELF, args);
}

async function measureSize(dialect, rows) {
  const database = await freshDatabase(dialect);
  try {
    const key = randomBytes(32).toString('base64');
    const t0 = performance.now();
    runChild(['seed', dialect, database.url, key, rows]);
    const seedSeconds = (performance.now() - t0) / 1000;
    spawnSync('sync');
    console.log(`${dialect} ${label(rows)}: seeded in ${seedSeconds.toFixed(1)} s`);
    const handLoop = runChild(['hand', dialect, database.url, key]);
    console.log(`  hand-written loop: ${Math.round(handLoop.rate)} rows/s`);
    const lockbox = runChild(['adopt', dialect, database.url, key]);
    console.log(
      `  lockbox adopt: ${Math.round(lockbox.rate)} rows/s (${lockbox.rows} rows), peak RSS ${lockbox.maxRssMiB} MiB`,
    );
    if (lockbox.rows !== rows || handLoop.rows !== rows) throw new Error('row counts differ');
    return { seedSeconds, handLoop, lockbox };
  } finally {
    await database.drop();
  }
}

/** @param {string} description @param {number | null} ratio @param {number} threshold */
function manualTarget(description, ratio, threshold) {
  return issueTarget(13, description, ratio, threshold);
}

async function parent() {
  const options = benchOptions();
  const run = startRun();
  // --sizes, or LOCKBOX_BENCH_ADOPTION_SIZES through `npm run bench` (which passes no options).
  const at = process.argv.indexOf('--sizes');
  const chosen = at === -1 ? process.env.LOCKBOX_BENCH_ADOPTION_SIZES : process.argv[at + 1];
  const sizes =
    chosen !== undefined
      ? chosen.split(',').map(Number)
      : options.quick
        ? [10_000, 50_000]
        : [100_000, 1_000_000];
  const small = sizes[0];
  const large = sizes[sizes.length - 1];
  const measured = {};
  for (const dialect of DIALECTS) {
    for (const size of sizes) {
      try {
        measured[`${dialect}-${size}`] = await measureSize(dialect, size);
      } catch (err) {
        console.error(`${dialect} ${label(size)}: ${err.message}`);
      }
    }
  }
  const get = (dialect, size) => measured[`${dialect}-${size}`];
  const one = (x) => (x === undefined ? undefined : summarise([x.rate]));
  const groups = [];
  const targets = [];
  for (const dialect of DIALECTS) {
    for (const size of sizes) {
      const m = get(dialect, size);
      const group = withRatios({
        id: `adopt-${dialect}-${label(size)}`,
        title: `Adoption on ${dialect}, ${label(size)} rows keyed by (user_id, provider), rows/s`,
        unit: 'rows/s',
        peer: 'hand',
        rows: [
          row('lockbox', 'Lockbox rotation.adopt (plaintext)', one(m?.lockbox)),
          row('hand', 'hand-written select/encrypt/update loop', one(m?.handLoop)),
        ],
      });
      groups.push(group);
      targets.push(
        manualTarget(
          `adoption at ${label(size)} on ${dialect} beside the hand-written loop (ratio; no threshold set by the issue, 0.8 as for the re-key)`,
          group.rows[0]?.ratio ?? null,
          0.8,
        ),
      );
    }
  }
  groups.push(
    rssGroup(
      'Peak RSS of the adoption process, MiB',
      sizes,
      'rows',
      (dialect, size) => get(dialect, size)?.lockbox.maxRssMiB,
    ),
  );
  for (const dialect of DIALECTS) {
    const s = get(dialect, small)?.lockbox.maxRssMiB;
    const l = get(dialect, large)?.lockbox.maxRssMiB;
    targets.push(
      manualTarget(
        `peak RSS of adoption flat on ${dialect}: ${label(small)} within 1.25× of ${label(large)} (ratio ≥ 0.8)`,
        s === undefined || l === undefined ? null : s / l,
        0.8,
      ),
    );
  }
  for (const group of groups) printGroup(group);
  printTargets(targets);
  writeResult({
    name: 'adoption',
    title: 'Adoption of a composite-key table',
    issue: 13,
    command: 'npm run bench -- --only adoption',
    quick: options.quick,
    ...run.finish(),
    groups,
    targets,
    notes: [
      `Table: ${sizes.map(label).join(' and ')} rows of user_keys (user_id integer, provider text, api_key text, primary key (user_id, provider)), ${PROVIDERS.length} providers per user, 64-byte plaintext values, inserted by one INSERT … SELECT.`,
      'Lockbox: the whole rotation.adopt job with the defaults (row-key check, proof, batches in online mode with compare-and-swap, audit); the hand-written loop (one data key made in memory, the same associated data) runs just before it on an identical copy of the table, each in its own process.',
      'Peak RSS is the child process maximum resident set, Node itself included.',
      ...Object.entries(measured).map(([k, m]) => `${k}: seeded in ${m.seedSeconds.toFixed(1)} s.`),
    ],
  });
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv.slice(1));
else await parent();
