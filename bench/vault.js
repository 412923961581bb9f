/**
 * Vault benchmark (issue 3): `secrets.get` with a warm data-key cache and
 * `secrets.set`, operations per second on SQLite (temp file) and PostgreSQL
 * (fresh schema in the `test` database), beside raw Kysely statements on a table
 * of the same row shape, in the same run and through the same connection.
 *
 * - get: Lockbox reads the row, decrypts it (AES-256-GCM, cached data key) and
 *   decodes the text; the peer selects the same ten columns of the same row.
 * - set: Lockbox validates, asks the store for the scope's active data key,
 *   encrypts and upserts; the peer upserts a row of the same shape with a
 *   ciphertext of the same length.
 * - get with the audit log on (openLockbox({ audit: true }), as the CLI and server
 *   run): every read also appends a hash-chained audit entry. Informational.
 *
 * Operations run one at a time (no concurrency), over 1,000 secrets of 64 bytes.
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
const SECRETS = 1000;
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

/** A table with lockbox_secrets' columns and key, filled with copies of its rows. */
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
  await sql`insert into bench_raw_secrets select ${sql.join(COLUMNS.map((c) => sql.ref(c)))} from lockbox_secrets`.execute(
    db,
  );
}

function rawSelect(db, name) {
  return db
    .selectFrom('bench_raw_secrets')
    .select(COLUMNS)
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
    audited = await core.openLockbox({ database: database.url, drivers, keyring, audit: true });

    console.log(`\n${dialect}: get, ${options.rounds} rounds of ${options.windowMs} ms`);
    const gets = await compare(
      [
        {
          id: 'lockbox-get',
          label: 'Lockbox secrets.get',
          async: true,
          run: (i) => lockbox.secrets.get(SCOPE, names[i % SECRETS]),
        },
        {
          id: 'raw-select',
          label: 'Kysely select',
          async: true,
          run: (i) => rawSelect(db, names[i % SECRETS]),
        },
        {
          id: 'lockbox-get-audited',
          label: 'Lockbox secrets.get, audit log on',
          async: true,
          run: (i) => audited.secrets.get(SCOPE, names[i % SECRETS]),
        },
      ],
      { ...options, log: console.log },
    );
    console.log(`\n${dialect}: set, ${options.rounds} rounds of ${options.windowMs} ms`);
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
      { ...options, log: console.log },
    );
    return [
      withRatios({
        id: `${dialect}-get`,
        title: `${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: reads/s (warm cache)`,
        unit: 'ops/s',
        peer: 'raw-select',
        rows: [
          row('lockbox-get', 'Lockbox secrets.get', gets.get('lockbox-get')),
          row('raw-select', 'Kysely select, same row shape', gets.get('raw-select')),
          row(
            'lockbox-get-audited',
            'Lockbox secrets.get, audit log on',
            gets.get('lockbox-get-audited'),
          ),
        ],
      }),
      withRatios({
        id: `${dialect}-set`,
        title: `${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: writes/s`,
        unit: 'ops/s',
        peer: 'raw-upsert',
        rows: [
          row('lockbox-set', 'Lockbox secrets.set', sets.get('lockbox-set')),
          row('raw-upsert', 'Kysely upsert, same row shape', sets.get('raw-upsert')),
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
      title: `${name}: reads/s (warm cache)`,
      unit: 'ops/s',
      peer: 'raw-select',
      rows: [row('lockbox-get', 'Lockbox secrets.get', undefined, { reason })],
    },
    {
      id: `${dialect}-set`,
      title: `${name}: writes/s`,
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
console.log('');
printTargets(targets);

const file = writeResult({
  name: 'vault',
  title: 'Vault: secrets.get and secrets.set',
  issue: 3,
  command: 'npm run bench -- --only vault',
  quick: options.quick,
  method: { rounds: options.rounds, windowMs: options.windowMs, warmupMs: options.warmupMs },
  ...run.finish(),
  groups,
  targets,
  notes: [
    `${SECRETS} secrets of 64 bytes in one scope; one operation at a time; the data-key cache is warm.`,
    'The raw peers run on a table with the same columns and primary key, through the same Kysely instance and connection pool (PostgreSQL pool of 4).',
    'set asks the store for the scope’s active data key before every write (so a writer never keeps using a retired key); the raw upsert does not.',
  ],
});
console.log(`\nwrote ${file}`);
