/**
 * PostgreSQL server CPU per operation (issue 15): the CPU time the PostgreSQL
 * backend process spends per audited `secrets.get`, per unaudited get, and per
 * raw Kysely select of the same row shape. The store runs on a pool of one
 * connection, so one backend does all the work, and its user + system time is
 * read from /proc before and after. CPU time, unlike wall-clock throughput,
 * does not move with the load other processes put on the machine (much), so it
 * shows what parsing, planning and the commit cost on the server.
 *
 * Needs PostgreSQL on this machine (it reads /proc/<backend pid>/stat).
 *
 * Usage: node bench/pg-backend-cpu.js [operations per contender, default 3000]
 */
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import { importBuilt } from './lib/built.js';
import { freshDatabase } from './lib/databases.js';

const core = await importBuilt('core');
const N = Number(process.argv[2] ?? 3000);
const TICK_US = 1e6 / 100; // USER_HZ

/** User + system CPU of a process, in microseconds. */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

const database = await freshDatabase('postgres');
const drivers = { postgres: (connectionString) => new pg.Pool({ connectionString, max: 1 }) };
const keyring = core.Keyring.fromBytes(core.generateMasterKey());
const audited = await core.openLockbox({ database: database.url, drivers, keyring, audit: true });
const plain = await core.openLockbox({ database: database.url, drivers, keyring });
try {
  const names = Array.from({ length: 100 }, (_, i) => `s${i}`);
  for (const name of names) await plain.secrets.set('bench', name, 'x'.repeat(64));
  const db = plain.vault.store.db;
  /** @param {import('kysely').Kysely<any>} kysely @returns {Promise<number>} */
  const pidOf = async (kysely) => {
    const { rows } = await sql`select pg_backend_pid() as pid`.execute(kysely);
    return /** @type {{ pid: number }} */ (rows[0]).pid;
  };
  const contenders = [
    ['secrets.get, audit log on', audited, (i) => audited.secrets.get('bench', names[i % 100])],
    ['secrets.get, audit log off', plain, (i) => plain.secrets.get('bench', names[i % 100])],
    [
      'raw Kysely select, same row shape',
      plain,
      (i) =>
        db
          .selectFrom('lockbox_secrets')
          .selectAll()
          .where('scope', '=', 'bench')
          .where('name', '=', names[i % 100])
          .executeTakeFirst(),
    ],
  ];
  console.log(`PostgreSQL backend CPU per operation, ${N} operations each, one connection`);
  for (const [label, lockbox, run] of contenders) {
    const pid = await pidOf(lockbox.vault.store.db);
    for (let i = 0; i < 300; i++) await run(i);
    const before = cpuOf(pid);
    for (let i = 0; i < N; i++) await run(i);
    console.log(`  ${label}: ${((cpuOf(pid) - before) / N).toFixed(1)} µs`);
  }
} finally {
  await audited.close();
  await plain.close();
  await database.drop();
}
