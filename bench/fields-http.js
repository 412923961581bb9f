/**
 * Field decryption from Python (issue 14): a Python process decrypting field
 * values through the Lockbox client (clients/python) in batches of 100 over
 * loopback HTTP, beside the same process decrypting Fernet tokens of the same
 * plaintexts in-process with `cryptography` — what the application did before —
 * in alternating windows of the same run (bench/peers/python-fields.py).
 *
 * The server is buildServer from packages/server/dist on SQLite in this process,
 * logging off, with the audit log on (one `field.decrypt` entry per batch, as in
 * production). Target: Lockbox ≥ 0.5× the Fernet rate.
 *
 * When the server is not built or /usr/bin/python3 has no `cryptography`, the
 * result is recorded as "not run" with the reason.
 *
 * Usage: node --expose-gc bench/fields-http.js [--quick]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { builtEntry, importBuilt, isBuilt, REPO_ROOT } from './lib/built.js';
import { drivers, freshDatabase } from './lib/databases.js';
import { summarise } from './lib/measure.js';
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

const options = benchOptions();
const run = startRun();
const PYTHON = '/usr/bin/python3';
const ITEMS = 1000;
const TITLE = 'Field decryption from Python: Lockbox client over HTTP vs in-process Fernet';
// Windows long enough for several round trips of 100 values each.
const method = {
  rounds: options.rounds,
  windowMs: options.quick ? 500 : 2000,
  warmupMs: options.quick ? 300 : 1000,
  clock: /** @type {const} */ ('wall'),
};

if (!isBuilt('server')) {
  const reason = `not run: server not built (${builtEntry('server')} is missing; run \`npm run build\`)`;
  console.log(reason);
  writeResult({ name: 'fields-http', title: TITLE, issue: 14, status: 'not run', reason });
  process.exit(0);
}

const core = await importBuilt('core');
const { buildServer } = await importBuilt('server');

/** Runs the Python peer without blocking this process (which serves its requests). */
function runPython(args, env) {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    child.once('error', (err) =>
      resolve({ available: false, reason: `${PYTHON}: ${err.message}` }),
    );
    child.once('close', () => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        resolve({ available: false, reason: `python peer failed: ${stderr.trim().slice(-300)}` });
      }
    });
  });
}

const database = await freshDatabase('sqlite');
const dir = mkdtempSync(join(tmpdir(), 'lockbox-bench-fields-'));
const lockbox = await core.openLockbox({
  database: database.url,
  drivers,
  keyring: core.Keyring.fromBytes(core.generateMasterKey()),
  audit: true,
});
const app = buildServer({ lockbox, logger: false, authRateLimit: false });
let python;
try {
  // Registration checks the row key against the application's table.
  await sql`create table bench_keys (id integer primary key, api_key text)`.execute(
    lockbox.vault.store.db,
  );
  await lockbox.fields.register({ table: 'bench_keys', column: 'api_key', primaryKey: 'id' });
  const { token } = await lockbox.tokens.create({
    name: 'bench',
    permissions: ['fields:decrypt:bench_keys.api_key'],
  });
  const items = [];
  for (let id = 1; id <= ITEMS; id++) {
    const plaintext = `sk-${randomBytes(48).toString('base64url')}`.slice(0, 64);
    const ciphertext = await lockbox.fields.encrypt('bench_keys', 'api_key', id, plaintext);
    items.push({ key: { id }, ciphertext, plaintext });
  }
  const itemsFile = join(dir, 'items.json');
  writeFileSync(itemsFile, JSON.stringify(items), { mode: 0o600 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(
    `\n${ITEMS} field values of 64 bytes; ${method.rounds} rounds of ${method.windowMs} ms (wall) per contender, batches of 100`,
  );
  python = await runPython(
    [
      join(REPO_ROOT, 'bench', 'peers', 'python-fields.py'),
      ...[method.rounds, method.windowMs, method.warmupMs].map(String),
      itemsFile,
    ],
    {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LOCKBOX_URL: url,
      LOCKBOX_TOKEN: token,
      LOCKBOX_BENCH_FIELD: 'bench_keys.api_key',
    },
  );
} finally {
  await app.close();
  await lockbox.close();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
}

const figures = (samples) => (samples === undefined ? undefined : summarise(samples));
const reason = python?.reason ?? 'not available';
const group = withRatios({
  id: 'decrypt',
  title: 'Field values decrypted per second in one Python process (64-byte values)',
  unit: 'values/s',
  peer: 'fernet',
  rows: [
    row(
      'lockbox',
      'Lockbox client, decrypt_fields, batches of 100 over loopback HTTP',
      figures(python?.available ? python.lockbox : undefined),
      { reason },
    ),
    row(
      'fernet',
      python?.available
        ? `in-process Fernet.decrypt (cryptography ${python.version})`
        : 'in-process Fernet.decrypt',
      figures(python?.available ? python.fernet : undefined),
      { reason },
    ),
  ],
});
printGroup(group);
const targets = [
  target({
    issue: 14,
    description:
      'a Python process decrypting fields through the Lockbox client (batches of 100, loopback HTTP) ≥ 0.5× the same process decrypting Fernet tokens in-process',
    group,
    row: 'lockbox',
    against: 'fernet',
    threshold: 0.5,
  }),
];
console.log('');
printTargets(targets);

const file = writeResult({
  name: 'fields-http',
  title: TITLE,
  issue: 14,
  command: 'npm run bench -- --only fields-http',
  quick: options.quick,
  method,
  ...run.finish(),
  groups: [group],
  targets,
  notes: [
    `The Python process is ${PYTHON}; the client keeps one HTTP connection alive. Both contenders are checked to return the right plaintexts before timing; windows alternate between them, order reversed every round.`,
    'The server (in the benchmark’s node process, SQLite, logging off) authenticates the token, checks `fields:decrypt` on the field, decrypts each value bound to its row, and appends one hash-chained audit entry per batch.',
  ],
});
console.log(`wrote ${file}`);
