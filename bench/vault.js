/**
 * Vault benchmark (issue 3): `secrets.get` with a warm data-key cache and
 * `secrets.set`, operations per second on SQLite (temp file) and PostgreSQL
 * (fresh schema in the `test` database), beside raw Kysely statements on a table
 * of the same row shape, in the same run and through the same connection.
 *
 * - get: Lockbox selects the columns it needs (value type and ciphertext),
 *   decrypts (AES-256-GCM, cached data key) and decodes the text; the peer
 *   selects the same row whole (the ten columns of the row shape). A second,
 *   stricter raw row selects only the two columns get reads.
 * - set: Lockbox validates, asks the store for the scope's active data key,
 *   encrypts and upserts while that key is still active; the peer upserts a row
 *   of the same shape with a ciphertext of the same length.
 * - get with the audit log on (openLockbox({ audit: true }), as the CLI and server
 *   run): every read also appends a hash-chained audit entry. Measured last,
 *   beside the raw select again, so its writes slow no other figure, and beside
 *   the raw limit of the same work (rawAuditedRead: the select plus a bare
 *   committed append, no crypto), which says how much of the gap is the commit
 *   itself.
 *
 * Operations run one at a time (no concurrency), over 1,000 secrets of 64 bytes
 * (200 with --quick).
 * SQLite runs in this process, so its figures are per second of this process's
 * CPU time (as bench/crypto.js); PostgreSQL's work happens in the server process,
 * so its figures are wall-clock.
 *
 * Usage: node --expose-gc bench/vault.js [--quick]
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { importBuilt } from './lib/built.js';
import { DIALECTS, drivers, freshDatabase } from './lib/databases.js';
import { compare } from './lib/measure.js';
import { benchOptions } from './lib/options.js';
import {
  printGroup,
  printTargets,
  row,
  startRun,
  target,
  withRatios,
  writeResult,
} from './lib/results.js';

const core = await importBuilt('core');
const options = benchOptions();
const SCOPE = 'bench';
/** Fewer with --quick: filling the store is one commit per secret. */
const SECRETS = options.quick ? 200 : 1000;
const VALUE = `sk-${randomBytes(64).toString('base64url')}`.slice(0, 64);
const names = Array.from({ length: SECRETS }, (_, i) => `secret-${String(i).padStart(4, '0')}`);
const COLUMNS = [
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
];

/** A table with lockbox_secrets' columns, key and index, filled with copies of its rows. */
async function createRawTable(db) {
  await db.schema
    .createTable('bench_raw_secrets')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('value_type', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'text', (c) => c.notNull())
    .addColumn('data_key_id', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .addPrimaryKeyConstraint('bench_raw_secrets_pk', ['scope', 'name'])
    .execute();
  // The same secondary index as lockbox_secrets (rotation walks secrets by data key),
  // so that writes maintain the same B-trees.
  await db.schema
    .createIndex('bench_raw_secrets_data_key')
    .on('bench_raw_secrets')
    .columns(['data_key_id', 'scope', 'name'])
    .execute();
  await sql`insert into bench_raw_secrets select ${sql.join(COLUMNS.map((c) => sql.ref(c)))} from lockbox_secrets`.execute(
    db,
  );
}

function rawSelect(db, name, columns = COLUMNS) {
  return db
    .selectFrom('bench_raw_secrets')
    .select(columns)
    .where('scope', '=', SCOPE)
    .where('name', '=', name)
    .executeTakeFirst();
}

/** The statement Lockbox's set runs, with a ready-made ciphertext of the same length. */
function rawUpsert(db, name, ciphertext, dataKeyId) {
  const now = new Date().toISOString();
  return db
    .insertInto('bench_raw_secrets')
    .values({
      scope: SCOPE,
      name,
      version: 1,
      value_type: 'utf8',
      ciphertext,
      data_key_id: dataKeyId,
      metadata: null,
      created_at: now,
      updated_at: now,
      updated_by: 'app',
    })
    .onConflict((oc) =>
      oc.columns(['scope', 'name']).doUpdateSet((eb) => ({
        version: eb('bench_raw_secrets.version', '+', 1),
        value_type: 'utf8',
        ciphertext,
        data_key_id: dataKeyId,
        metadata: eb.ref('bench_raw_secrets.metadata'),
        updated_at: now,
        updated_by: 'app',
      })),
    )
    .returning('version')
    .executeTakeFirstOrThrow();
}

/** A bench copy of the audit table's shape and a head row, for the raw limit of an audited read. */
async function createRawAudit(db) {
  await db.schema
    .createTable('bench_raw_audit')
    .addColumn('seq', 'integer', (c) => c.primaryKey())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_name', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('scope', 'text')
    .addColumn('name', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('details', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text')
    .execute();
  await db.schema
    .createTable('bench_raw_head')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db
    .insertInto('bench_raw_head')
    .values({ key: 'head', value: headText(0) })
    .execute();
}

/** A head of the real one's length (seq, 64-hex hash, key id, 64-hex MAC as JSON). */
function headText(seq) {
  const hex = (n) => String(n).padStart(64, '0');
  return JSON.stringify({ v: 1, seq, hash: hex(seq), keyId: '0'.repeat(16), mac: hex(seq + 1) });
}

/**
 * The raw limit of an audited read: the peer's select, then an append of an
 * entry of the real one's size by the mechanism Lockbox uses — on SQLite
 * begin, head compare-and-swap, insert, commit run synchronously on the
 * connection with statements prepared once; on PostgreSQL one statement (the
 * head's compare-and-swap feeding the insert), committed on its own — and no
 * crypto, no chaining, no checks. What the store itself charges for a read
 * whose entry is committed before it returns.
 */
function rawAuditedRead(db, dialect, connection) {
  let seq = 0;
  const entry = (name) => [
    new Date().toISOString(),
    null,
    'app',
    'secret.read',
    SCOPE,
    name,
    'ok',
    null,
    JSON.stringify({ scope: SCOPE, name }),
    String(seq).padStart(64, '0'),
    String(seq + 1).padStart(64, '0'),
    '0'.repeat(16),
  ];
  const columns =
    'at, actor_id, actor_name, action, scope, name, outcome, request_id, details, prev_hash, hash, key_id';
  if (dialect === 'sqlite') {
    const begin = connection.prepare('begin');
    const move = connection.prepare(
      'update bench_raw_head set value = ? where key = ? and value = ?',
    );
    const insert = connection.prepare(
      `insert into bench_raw_audit (seq, ${columns}) values (${Array(13).fill('?').join(', ')})`,
    );
    const commit = connection.prepare('commit');
    return async (name) => {
      await rawSelect(db, name);
      begin.run();
      if (move.run(headText(seq + 1), 'head', headText(seq)).changes !== 1) throw new Error('cas');
      insert.run(seq + 1, ...entry(name));
      commit.run();
      seq += 1;
    };
  }
  return async (name) => {
    await rawSelect(db, name);
    const values = entry(name);
    const { numAffectedRows } = await sql`with moved as (
        update bench_raw_head set value = ${headText(seq + 1)} where key = 'head' and value = ${headText(seq)} returning 1
      ) insert into bench_raw_audit (seq, ${sql.raw(columns)})
        select ${seq + 1}, ${sql.join(values)} from moved`.execute(db);
    if (Number(numAffectedRows) !== 1) throw new Error('cas');
    seq += 1;
  };
}

/**
 * SQLite: folds the write-ahead log back into the database before a comparison,
 * so that one comparison's writes (sets, audit entries) never slow the next
 * one's reads. No-op on PostgreSQL.
 */
async function settle(db, dialect) {
  if (dialect === 'sqlite') await sql`pragma wal_checkpoint(truncate)`.execute(db);
}

async function benchDialect(dialect) {
  const database = await freshDatabase(dialect);
  const keyring = core.Keyring.fromBytes(core.generateMasterKey());
  const lockbox = await core.openLockbox({ database: database.url, drivers, keyring });
  let audited;
  try {
    for (const name of names) await lockbox.secrets.set(SCOPE, name, VALUE);
    const db = lockbox.vault.store.db;
    await createRawTable(db);
    const sample = await rawSelect(db, names[0]);
    if ((await lockbox.secrets.get(SCOPE, names[0])) !== VALUE) throw new Error('get is wrong');
    /** @type {'cpu' | 'wall'} */
    const clock = dialect === 'sqlite' ? 'cpu' : 'wall';
    const measure = { ...options, clock, log: console.log };
    const rawSelectContender = {
      id: 'raw-select',
      label: 'Kysely select',
      async: true,
      run: (i) => rawSelect(db, names[i % SECRETS]),
    };

    await settle(db, dialect);
    console.log(`\n${dialect}: get, ${options.rounds} rounds of ${options.windowMs} ms (${clock})`);
    const gets = await compare(
      [
        {
          id: 'lockbox-get',
          label: 'Lockbox secrets.get',
          async: true,
          run: (i) => lockbox.secrets.get(SCOPE, names[i % SECRETS]),
        },
        rawSelectContender,
        {
          id: 'raw-select-value',
          label: 'Kysely select, two columns',
          async: true,
          run: (i) => rawSelect(db, names[i % SECRETS], ['value_type', 'ciphertext']),
        },
      ],
      measure,
    );
    await settle(db, dialect);
    console.log(`\n${dialect}: set, ${options.rounds} rounds of ${options.windowMs} ms (${clock})`);
    const sets = await compare(
      [
        {
          id: 'lockbox-set',
          label: 'Lockbox secrets.set',
          async: true,
          run: (i) => lockbox.secrets.set(SCOPE, names[i % SECRETS], VALUE),
        },
        {
          id: 'raw-upsert',
          label: 'Kysely upsert',
          async: true,
          run: (i) => rawUpsert(db, names[i % SECRETS], sample.ciphertext, sample.data_key_id),
        },
      ],
      measure,
    );
    // Last, on its own: every audited read appends to the log, which would slow
    // the reads of any comparison that came after it.
    audited = await core.openLockbox({ database: database.url, drivers, keyring, audit: true });
    await createRawAudit(db);
    const auditedReadLimit = rawAuditedRead(db, dialect, lockbox.vault.store.sqliteConnection?.());
    await settle(db, dialect);
    console.log(`\n${dialect}: audited get, ${options.rounds} rounds of ${options.windowMs} ms`);
    const auditedGets = await compare(
      [
        {
          id: 'lockbox-get-audited',
          label: 'Lockbox secrets.get, audit log on',
          async: true,
          run: (i) => audited.secrets.get(SCOPE, names[i % SECRETS]),
        },
        rawSelectContender,
        {
          id: 'raw-audited-read',
          label: 'limit: the select plus a bare committed append',
          async: true,
          run: (i) => auditedReadLimit(names[i % SECRETS]),
        },
      ],
      measure,
    );
    const perSecond = clock === 'cpu' ? 'ops per CPU-second' : 'ops/s';
    const name = dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    return [
      withRatios({
        id: `${dialect}-get`,
        title: `${name}: reads (warm cache)`,
        unit: perSecond,
        peer: 'raw-select',
        rows: [
          row('lockbox-get', 'Lockbox secrets.get', gets.get('lockbox-get')),
          row('raw-select', 'Kysely select, same row shape', gets.get('raw-select')),
          row(
            'raw-select-value',
            'Kysely select, only the 2 columns get reads',
            gets.get('raw-select-value'),
          ),
        ],
      }),
      withRatios({
        id: `${dialect}-set`,
        title: `${name}: writes`,
        unit: perSecond,
        peer: 'raw-upsert',
        rows: [
          row('lockbox-set', 'Lockbox secrets.set', sets.get('lockbox-set')),
          row('raw-upsert', 'Kysely upsert, same row shape', sets.get('raw-upsert')),
        ],
      }),
      withRatios({
        id: `${dialect}-get-audited`,
        title: `${name}: reads with the audit log on`,
        unit: perSecond,
        peer: 'raw-select',
        rows: [
          row(
            'lockbox-get-audited',
            'Lockbox secrets.get, audit log on',
            auditedGets.get('lockbox-get-audited'),
          ),
          row('raw-select', 'Kysely select, same row shape', auditedGets.get('raw-select')),
          row(
            'raw-audited-read',
            'limit: that select plus a bare committed append (no crypto)',
            auditedGets.get('raw-audited-read'),
          ),
        ],
      }),
    ];
  } finally {
    await audited?.close();
    await lockbox.close();
    await database.drop();
  }
}

/** Groups saying why a dialect could not be measured. */
function unavailable(dialect, reason) {
  const name = dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  return [
    {
      id: `${dialect}-get`,
      title: `${name}: reads (warm cache)`,
      unit: 'ops/s',
      peer: 'raw-select',
      rows: [row('lockbox-get', 'Lockbox secrets.get', undefined, { reason })],
    },
    {
      id: `${dialect}-set`,
      title: `${name}: writes`,
      unit: 'ops/s',
      peer: 'raw-upsert',
      rows: [row('lockbox-set', 'Lockbox secrets.set', undefined, { reason })],
    },
  ];
}

const run = startRun();
const groups = [];
for (const dialect of DIALECTS) {
  try {
    groups.push(...(await benchDialect(dialect)));
  } catch (err) {
    const reason = `${dialect} not reachable: ${err instanceof Error ? err.message : String(err)}`;
    console.error(reason);
    groups.push(...unavailable(dialect, reason));
  }
}
for (const group of groups) printGroup(group);

const targets = DIALECTS.map((dialect) =>
  target({
    issue: 3,
    description: `secrets.get ≥ 0.7× a raw Kysely select, ${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`,
    group: groups.find((g) => g.id === `${dialect}-get`),
    row: 'lockbox-get',
    against: 'raw-select',
    threshold: 0.7,
  }),
);
// Issue 15: audited reads and writes beside the same peers.
for (const [dialect, getAt, setAt] of /** @type {const} */ ([
  ['sqlite', 0.3, 0.6],
  ['postgres', 0.5, 0.8],
])) {
  const name = dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  targets.push(
    target({
      issue: 15,
      description: `secrets.get with the audit log on, one caller, ≥ ${getAt}× a raw Kysely select, ${name}`,
      group: groups.find((g) => g.id === `${dialect}-get-audited`) ?? {
        id: `${dialect}-get-audited`,
        title: `${name}: reads with the audit log on`,
        unit: 'ops/s',
        peer: 'raw-select',
        rows: [],
      },
      row: 'lockbox-get-audited',
      against: 'raw-select',
      threshold: getAt,
    }),
    target({
      issue: 15,
      description: `secrets.set ≥ ${setAt}× a raw Kysely upsert, ${name}`,
      group: groups.find((g) => g.id === `${dialect}-set`),
      row: 'lockbox-set',
      against: 'raw-upsert',
      threshold: setAt,
    }),
  );
}
/** get against the stricter peer, for the notes (not a target of the issue). */
const strict = DIALECTS.map((dialect) => {
  const group = groups.find((g) => g.id === `${dialect}-get`);
  const get = group.rows.find((r) => r.id === 'lockbox-get');
  const value = group.rows.find((r) => r.id === 'raw-select-value');
  return get?.status === 'ok' && value?.status === 'ok'
    ? `${dialect}: ${(get.median / value.median).toFixed(2)}×`
    : `${dialect}: not measured`;
});
console.log('');
printTargets(targets);
console.log(`get against a select of only the columns it reads: ${strict.join(', ')}`);

const file = writeResult({
  name: 'vault',
  title: 'Vault: secrets.get and secrets.set',
  issue: 3,
  command: 'npm run bench -- --only vault',
  quick: options.quick,
  method: {
    rounds: options.rounds,
    windowMs: options.windowMs,
    warmupMs: options.warmupMs,
    clock: 'cpu (SQLite), wall (PostgreSQL)',
  },
  ...run.finish(),
  groups,
  targets,
  notes: [
    `${SECRETS} secrets of 64 bytes in one scope; one operation at a time; the data-key cache is warm.`,
    'SQLite figures are per second of the benchmark process’s CPU time (SQLite runs inside it, so CPU time is its whole cost, and other processes on the machine stay out of the figures); PostgreSQL figures are wall-clock, since the server’s work happens in its own process. Wall-clock medians are in bench/results/vault.json (wallMedian).',
    `The issue’s peer reads the whole row (same row shape); get reads only the value type and ciphertext. Against a raw select of just those two columns, get runs at ${strict.join(', ')}.`,
    'The raw peers run on a table with the same columns, primary key and index, through the same Kysely instance and connection pool (PostgreSQL pool of 4).',
    'set asks the store for the scope’s active data key before every write, and its upsert only writes while that key is still active (insert … select guarded by the key’s state), so that a write racing a data re-key never lands under a retired key; the raw upsert does neither.',
  ],
});
console.log(`\nwrote ${file}`);
