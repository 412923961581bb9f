/**
 * Rotation benchmark (issue 4), on SQLite and PostgreSQL, at 100,000 and
 * 1,000,000 secrets across 10,000 scopes:
 *
 * - master-key rotation time: every data key (one per scope) rewrapped from the
 *   old master key to a new one (`lockbox.rotation.rotateMaster`, auto mode);
 * - data re-key rows/s (`lockbox.rotation.rekeyData`, auto mode, the whole job:
 *   proofs, switch, re-encryption, verification pass, destruction) beside, on the
 *   same table in the same run, a hand-written loop that selects a batch in key
 *   order, decrypts, re-encrypts and writes it back with no bookkeeping (SQLite:
 *   prepared per-row UPDATEs in a transaction; PostgreSQL: one UPDATE … FROM
 *   unnest(…) per batch), and the same loop without the crypto (a bare rewrite);
 * - peak RSS of each operation, which must not grow with the number of rows.
 *
 * Each operation runs in its own child process (so its peak RSS is its own):
 *   seed → master (3 rotations in a row) → hand → bare → rekey.
 * The store is seeded with real encryption but in bulk (data keys wrapped and
 * secrets encrypted here, inserted 1,000 rows per statement), which takes a
 * fraction of the time writing them one by one through `secrets.set` would.
 *
 * Usage: node --expose-gc bench/rotation.js [--quick]
 *   --quick: 10,000 and 50,000 secrets across 1,000 scopes
 */
import { spawnSync } from 'node:child_process';
import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { importBuilt } from './lib/built.js';
import { DIALECTS, drivers, freshDatabase } from './lib/databases.js';
import { summarise } from './lib/measure.js';
import { benchOptions } from './lib/options.js';
import { runPythonPeer } from './lib/python-peer.js';
import { printGroup, printTargets, row, startRun, withRatios, writeResult } from './lib/results.js';

const SELF = fileURLToPath(import.meta.url);
const BATCH = 1000;
const MASTER_ROUNDS = 3;

function mib(kib) {
  return Math.round((kib / 1024) * 10) / 10;
}

function label(n) {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;
}

async function openStore(core, url, key, mode = 'open') {
  return core.openLockbox({
    database: url,
    drivers,
    keyring: core.Keyring.fromBytes(key),
    mode,
  });
}

/** Child: creates the store and fills it, in bulk but with real keys and ciphertexts. */
async function seed(core, url, key, secrets, scopes) {
  const lockbox = await openStore(core, url, key, 'create');
  try {
    const db = lockbox.vault.store.db;
    const keyring = lockbox.vault.keyring;
    const now = new Date().toISOString();
    const keys = [];
    for (let s = 0; s < scopes; s += BATCH) {
      const rows = [];
      for (let i = s; i < Math.min(scopes, s + BATCH); i++) {
        const scope = `tenant:${String(i).padStart(6, '0')}`;
        const idBytes = randomBytes(8);
        const id = idBytes.toString('hex');
        const bytes = randomBytes(32);
        rows.push({
          id,
          scope,
          version: 1,
          wrapped: keyring.wrap(bytes, core.dataKeyContext(scope, id)),
          master_fingerprint: keyring.primary.fingerprint,
          wrapped_recovery: null,
          state: 'active',
          created_at: now,
          updated_at: now,
        });
        keys.push({ scope, id, idBytes, key: createSecretKey(bytes) });
      }
      await db.insertInto('lockbox_data_keys').values(rows).execute();
    }
    const perScope = Math.ceil(secrets / scopes);
    const value = Buffer.from(`sk-${randomBytes(48).toString('base64url')}`.slice(0, 64));
    let pending = [];
    let written = 0;
    const flush = async (trx) => {
      if (pending.length > 0) await trx.insertInto('lockbox_secrets').values(pending).execute();
      pending = [];
    };
    await db.transaction().execute(async (trx) => {
      for (const k of keys) {
        for (let n = 0; n < perScope && written < secrets; n++, written++) {
          const name = `credential-${String(n).padStart(4, '0')}`;
          pending.push({
            scope: k.scope,
            name,
            version: 1,
            value_type: 'utf8',
            ciphertext: core.encryptToText(
              k.idBytes,
              k.key,
              value,
              core.secretContext(k.scope, name, 'utf8'),
            ),
            data_key_id: k.id,
            metadata: null,
            created_at: now,
            updated_at: now,
            updated_by: null,
          });
          if (pending.length === BATCH) await flush(trx);
        }
      }
      await flush(trx);
    });
    return { secrets: written, scopes };
  } finally {
    await lockbox.close();
  }
}

/** Child: `rounds` master rotations in a row; each returns the key for the next. */
async function master(core, url, key) {
  let current = key;
  const times = [];
  let last;
  for (let round = 0; round < MASTER_ROUNDS; round++) {
    const next = core.generateMasterKey();
    const lockbox = await openStore(core, url, current);
    try {
      const started = performance.now();
      last = await lockbox.rotation.rotateMaster({ oldKey: current, newKey: next });
      times.push(performance.now() - started);
    } finally {
      await lockbox.close();
    }
    current = next;
  }
  return {
    times,
    dataKeys: last.dataKeys.rewrapped,
    mode: last.mode,
    nextKey: current.toString('base64'),
  };
}

/**
 * Child: the hand-written re-key a developer would write with the driver: unwrap
 * the data keys, make one new data key per scope (stored wrapped, the old one
 * marked retiring), then select a batch in key order, decrypt with the row's
 * key, encrypt with the scope's new key, update ciphertext and key id, next batch
 * — no compare-and-swap, checkpoint, verification or destruction. All of it is
 * timed, as Lockbox's whole job is. With `crypto` false it writes each row back
 * unchanged instead (a bare rewrite).
 */
async function hand(core, dialect, url, key, crypto) {
  const keyring = core.Keyring.fromBytes(key);
  const oldKeys = new Map();
  const newKeys = new Map();
  const now = new Date().toISOString();
  const prepare = (dataKeys) => {
    const inserts = [];
    for (const r of dataKeys) {
      const bytes = keyring.unwrap(r.wrapped, core.dataKeyContext(r.scope, r.id));
      oldKeys.set(r.id, createSecretKey(bytes));
      if (!crypto) continue;
      const idBytes = randomBytes(8);
      const id = idBytes.toString('hex');
      const fresh = randomBytes(32);
      newKeys.set(r.scope, { id, idBytes, key: createSecretKey(fresh) });
      inserts.push([
        id,
        r.scope,
        Number(r.version) + 1,
        keyring.wrap(fresh, core.dataKeyContext(r.scope, id)),
        keyring.primary.fingerprint,
        now,
      ]);
    }
    return inserts;
  };
  const reencrypt = (r) => {
    if (!crypto) return [r.ciphertext, r.data_key_id];
    const context = core.secretContext(r.scope, r.name, r.value_type);
    const parsed = core.parseCiphertext(r.ciphertext);
    const plaintext = core.decryptParsed(parsed, oldKeys.get(r.data_key_id), context);
    const next = newKeys.get(r.scope);
    return [core.encryptToText(next.idBytes, next.key, plaintext, context), next.id];
  };
  const columns = 'scope, name, value_type, ciphertext, data_key_id';
  // User scopes only: the internal ones (lockbox:integrity, whose key MACs the
  // master-key records, and the audit scope) are not the application's to re-key.
  const userScope = "substr(scope, 1, 8) <> 'lockbox:'";
  const keysQuery = `select id, scope, version, wrapped from lockbox_data_keys where state = 'active' and ${userScope}`;
  const retireKeys = `update lockbox_data_keys set state = 'retiring' where state = 'active' and ${userScope}`;
  const insertKey =
    "insert into lockbox_data_keys (id, scope, version, wrapped, master_fingerprint, state, created_at, updated_at) values ($1, $2, $3, $4, $5, 'active', $6, $6)";
  let rows = 0;
  const started = performance.now();
  if (dialect === 'sqlite') {
    const db = new Database(url);
    db.pragma('journal_mode = wal');
    db.pragma('synchronous = normal');
    const inserts = prepare(db.prepare(keysQuery).all());
    const insert = db.prepare(insertKey.replace(/\$\d/g, '?'));
    db.transaction(() => {
      if (!crypto) return;
      db.prepare(retireKeys).run();
      for (const k of inserts) insert.run(...k, k[5]);
    })();
    const first = db.prepare(`select ${columns} from lockbox_secrets order by scope, name limit ?`);
    const after = db.prepare(
      `select ${columns} from lockbox_secrets where (scope, name) > (?, ?) order by scope, name limit ?`,
    );
    const update = db.prepare(
      'update lockbox_secrets set ciphertext = ?, data_key_id = ? where scope = ? and name = ?',
    );
    const write = db.transaction((batch) => {
      for (const r of batch) update.run(...reencrypt(r), r.scope, r.name);
    });
    let cursor;
    for (;;) {
      const batch = cursor ? after.all(cursor.scope, cursor.name, BATCH) : first.all(BATCH);
      if (batch.length === 0) break;
      write(batch);
      rows += batch.length;
      cursor = batch[batch.length - 1];
    }
    db.close();
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const inserts = prepare((await client.query(keysQuery)).rows);
    await client.query('begin');
    if (crypto) {
      await client.query(retireKeys);
    }
    for (let i = 0; i < inserts.length; i += BATCH) {
      const chunk = inserts.slice(i, i + BATCH);
      await client.query(
        "insert into lockbox_data_keys (id, scope, version, wrapped, master_fingerprint, state, created_at, updated_at) select id, scope, version, wrapped, fp, 'active', at, at from unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[]) as u(id, scope, version, wrapped, fp, at)",
        [0, 1, 2, 3, 4, 5].map((c) => chunk.map((k) => k[c])),
      );
    }
    await client.query('commit');
    let cursor;
    for (;;) {
      const { rows: batch } = cursor
        ? await client.query(
            `select ${columns} from lockbox_secrets where (scope, name) > ($1, $2) order by scope, name limit $3`,
            [cursor.scope, cursor.name, BATCH],
          )
        : await client.query(
            `select ${columns} from lockbox_secrets order by scope, name limit $1`,
            [BATCH],
          );
      if (batch.length === 0) break;
      const written = batch.map(reencrypt);
      await client.query(
        'update lockbox_secrets as s set ciphertext = u.c, data_key_id = u.k from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as u(s, n, c, k) where s.scope = u.s and s.name = u.n',
        [
          batch.map((r) => r.scope),
          batch.map((r) => r.name),
          written.map((w) => w[0]),
          written.map((w) => w[1]),
        ],
      );
      rows += batch.length;
      cursor = batch[batch.length - 1];
    }
    await client.end();
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows, seconds, rate: rows / seconds };
}

/** Child: Lockbox's data re-key, the whole job. */
async function rekey(core, url, key) {
  const lockbox = await openStore(core, url, key);
  try {
    const started = performance.now();
    const result = await lockbox.rotation.rekeyData();
    const seconds = (performance.now() - started) / 1000;
    return {
      rows: result.rows,
      seconds,
      rate: result.rows / seconds,
      mode: result.mode,
      destroyed: result.dataKeys.destroyed,
    };
  } finally {
    await lockbox.close();
  }
}

/** @param {string[]} args */
async function child([op, dialect, url, keyText, a, b]) {
  const core = await importBuilt('core');
  const key = Buffer.from(keyText, 'base64');
  let result;
  if (op === 'seed') result = await seed(core, url, key, Number(a), Number(b));
  else if (op === 'master') result = await master(core, url, key);
  else if (op === 'hand') result = await hand(core, dialect, url, key, true);
  else if (op === 'bare') result = await hand(core, dialect, url, key, false);
  else if (op === 'rekey') result = await rekey(core, url, key);
  else throw new Error(`unknown operation ${op}`);
  process.stdout.write(
    `${JSON.stringify({ ...result, maxRssMiB: mib(process.resourceUsage().maxRSS) })}\n`,
  );
}

function runChild(args) {
  const out = spawnSync(process.execPath, ['--expose-gc', SELF, '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (out.status !== 0) throw new Error(`child ${args[0]} failed (${out.status ?? out.signal})`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1));
}

async function measureSize(dialect, secrets, scopes) {
  const database = await freshDatabase(dialect);
  try {
    let key = randomBytes(32);
    const t0 = performance.now();
    const seeded = runChild([
      'seed',
      dialect,
      database.url,
      key.toString('base64'),
      secrets,
      scopes,
    ]);
    const seedSeconds = (performance.now() - t0) / 1000;
    // Flush the seed's writes to disk first, so no timing below pays for them.
    spawnSync('sync');
    console.log(`${dialect} ${label(secrets)}: seeded in ${seedSeconds.toFixed(1)} s`);
    const rotated = runChild(['master', dialect, database.url, key.toString('base64')]);
    key = Buffer.from(rotated.nextKey, 'base64');
    console.log(
      `  master rotation (${rotated.dataKeys} data keys, ${rotated.mode}): ${rotated.times.map((t) => `${Math.round(t)} ms`).join(', ')}`,
    );
    const handLoop = runChild(['hand', dialect, database.url, key.toString('base64')]);
    console.log(`  hand-written loop: ${Math.round(handLoop.rate)} rows/s`);
    const bare = runChild(['bare', dialect, database.url, key.toString('base64')]);
    console.log(`  bare rewrite: ${Math.round(bare.rate)} rows/s`);
    const lockbox = runChild(['rekey', dialect, database.url, key.toString('base64')]);
    console.log(
      `  lockbox data re-key (${lockbox.mode}): ${Math.round(lockbox.rate)} rows/s, peak RSS ${lockbox.maxRssMiB} MiB`,
    );
    const python = dialect === 'sqlite' ? pythonRekey(secrets) : undefined;
    if (python !== undefined) {
      console.log(
        python.available
          ? `  Python MultiFernet.rotate loop: ${Math.round(python.rate)} rows/s`
          : `  Python MultiFernet.rotate loop: not run (${python.reason})`,
      );
    }
    return { seeded, seedSeconds, rotated, handLoop, bare, lockbox, python };
  } finally {
    await database.drop();
  }
}

/**
 * What an application with Fernet tokens does to rotate today, on the same
 * number of rows in its own SQLite file (bench/peers/python-multifernet-rekey.py).
 */
function pythonRekey(rows) {
  const dir = mkdtempSync(join(tmpdir(), 'lockbox-bench-fernet-'));
  try {
    return runPythonPeer('python-multifernet-rekey.py', [join(dir, 'app.db'), rows, BATCH]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function manualTarget(description, ratio, threshold) {
  return {
    issue: 4,
    description,
    ratio,
    threshold,
    met: ratio === null ? null : ratio >= threshold,
  };
}

async function parent() {
  const options = benchOptions();
  const run = startRun();
  const scopes = options.quick ? 1000 : 10_000;
  const sizes = options.quick ? [10_000, 50_000] : [100_000, 1_000_000];
  const [small, large] = sizes;
  const measured = {};
  for (const dialect of DIALECTS) {
    for (const secrets of sizes) {
      try {
        measured[`${dialect}-${secrets}`] = await measureSize(dialect, secrets, scopes);
      } catch (err) {
        console.error(`${dialect} ${label(secrets)}: ${err.message}`);
      }
    }
  }
  const at = (dialect, size) => measured[`${dialect}-${size}`];
  const groups = [];
  const targets = [];
  for (const dialect of DIALECTS) {
    const master = withRatios({
      id: `master-${dialect}`,
      title: `Master-key rotation on ${dialect}, ${scopes.toLocaleString('en-US')} data keys, milliseconds (lower is better)`,
      unit: 'ms',
      peer: `${dialect}-${small}`,
      rows: sizes.map((size) =>
        row(
          `${dialect}-${size}`,
          `${label(size)} secrets`,
          at(dialect, size) && summarise(at(dialect, size).rotated.times),
          { reason: 'failed' },
        ),
      ),
    });
    groups.push(master);
    const tSmall = master.rows[0]?.median;
    const tLarge = master.rows[1]?.median;
    if (dialect === 'sqlite') {
      targets.push(
        manualTarget(
          `master rotation at ${label(large)} secrets on SQLite under 1 s (measured: 1 s ÷ time)`,
          tLarge === undefined ? null : 1000 / tLarge,
          1,
        ),
      );
    }
    targets.push(
      manualTarget(
        `master rotation at ${label(large)} within 1.5× of ${label(small)} on ${dialect} (measured: time at ${label(small)} ÷ time at ${label(large)}; met ≥ 0.67)`,
        tSmall === undefined || tLarge === undefined ? null : tSmall / tLarge,
        1 / 1.5,
      ),
    );
    for (const size of sizes) {
      const m = at(dialect, size);
      const one = (x) => (x === undefined ? undefined : summarise([x.rate]));
      const group = withRatios({
        id: `rekey-${dialect}-${label(size)}`,
        title: `Data re-key on ${dialect}, ${label(size)} secrets, rows/s`,
        unit: 'rows/s',
        peer: 'hand',
        rows: [
          row('lockbox', `Lockbox rekeyData (${m?.lockbox.mode ?? '?'})`, one(m?.lockbox)),
          row('hand', 'hand-written select/decrypt/encrypt/update loop', one(m?.handLoop)),
          row('bare', 'bare rewrite, no crypto', one(m?.bare)),
          ...(dialect === 'sqlite'
            ? [
                row(
                  'python',
                  `Python cryptography ${m?.python?.version ?? ''} MultiFernet.rotate select/rotate/update loop`,
                  m?.python?.available ? one(m.python) : undefined,
                  { reason: m?.python?.reason ?? 'not available' },
                ),
              ]
            : []),
        ],
      });
      groups.push(group);
      const ratio = group.rows[0]?.ratio ?? null;
      targets.push(
        manualTarget(
          `data re-key at ${label(size)} on ${dialect} ≥ 0.8× the hand-written loop`,
          ratio,
          0.8,
        ),
      );
      if (dialect === 'sqlite') {
        const python = m?.python?.available ? m.python.rate : undefined;
        targets.push({
          ...manualTarget(
            `data re-key at ${label(size)} on SQLite ≥ 2× the Python MultiFernet peer`,
            m === undefined || python === undefined ? null : m.lockbox.rate / python,
            2,
          ),
          issue: 15,
        });
      }
    }
  }
  const rss = withRatios({
    id: 'rss',
    title: 'Peak RSS of the data re-key process, MiB',
    unit: 'MiB',
    peer: `sqlite-${small}`,
    rows: DIALECTS.flatMap((dialect) =>
      sizes.map((size) => {
        const m = at(dialect, size);
        return row(
          `${dialect}-${size}`,
          `${dialect}, ${label(size)} secrets`,
          m && summarise([m.lockbox.maxRssMiB]),
        );
      }),
    ),
  });
  groups.push(rss);
  for (const dialect of DIALECTS) {
    const s = at(dialect, small)?.lockbox.maxRssMiB;
    const l = at(dialect, large)?.lockbox.maxRssMiB;
    targets.push(
      manualTarget(
        `peak RSS of the data re-key at ${label(large)} on ${dialect} under 300 MB (measured: 300 ÷ MiB)`,
        l === undefined ? null : 300 / l,
        1,
      ),
      manualTarget(
        `peak RSS flat on ${dialect}: ${label(small)} within 1.25× of ${label(large)} (ratio ≥ 0.8)`,
        s === undefined || l === undefined ? null : s / l,
        0.8,
      ),
    );
  }
  for (const group of groups) printGroup(group);
  printTargets(targets);
  writeResult({
    name: 'rotation',
    title: 'Rotation: master-key rewrap and data re-key',
    issue: 4,
    command: 'npm run bench -- --only rotation',
    quick: options.quick,
    ...run.finish(),
    groups,
    targets,
    notes: [
      `Stores: ${sizes.map(label).join(' and ')} secrets of 64 bytes across ${scopes.toLocaleString('en-US')} scopes (one data key each), seeded in bulk with real encryption.`,
      `Master rotation: ${MASTER_ROUNDS} rotations in a row per store, each a fresh process-open store and the library call's wall time (auto mode: atomic up to 10,000 data keys).`,
      "Data re-key: the whole rekeyData job (proofs, switch, re-encryption with compare-and-swap, verification pass, destruction), auto mode (online above 10,000 rows); the hand-written re-key (its key unwrapping and new data keys included in its time, as Lockbox's job includes them) and the bare rewrite run on the same table just before it, each in its own process.",
      'Peak RSS is the child process maximum resident set, Node itself included.',
      ...Object.entries(measured).map(
        ([k, m]) =>
          `${k}: seeded in ${m.seedSeconds.toFixed(1)} s; master rotation ${m.rotated.mode}.`,
      ),
    ],
  });
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv.slice(1));
else await parent();
