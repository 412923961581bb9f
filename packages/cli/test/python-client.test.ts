/**
 * The Python client (clients/python) against one real `lockbox serve` process
 * (HTTPS, SQLite), run with the real interpreter: `python3 -m unittest discover`
 * must pass, and python3 missing is a failure, never a skip.
 *
 * Before the server starts, this driver builds what a migrating application has:
 * its own `user_keys` table with Fernet-encrypted keys, adopted by the spawned
 * `lockbox rotate adopt` (the example app of docs/clients.md then reads them), the
 * tokens the Python tests use, and a field value the TypeScript library wrote for
 * Python to read. After the Python suite, the library reads the value Python
 * wrote, and the server's log is scanned for every plaintext and token.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encryptFernet, parseFernetKey } from '@lockbox/core/hazmat';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliStore, finished, initialisedStore, SPAWNING, startCli } from './helpers/cli.js';

const PYTHON_DIR = fileURLToPath(new URL('../../../clients/python/', import.meta.url));
const FROM_TS = 'sk-from-typescript-canary-3e9a';
const FROM_PY = 'sk-from-python-canary-77c0';
const LEGACY = {
  '1': { provider: 'openai', api_key: 'sk-legacy-openai-canary-0001' },
  '2': { provider: 'github', api_key: 'ghp_legacy-canary-0002' },
};

describe('the Python client against a real lockbox serve', SPAWNING, () => {
  let store: CliStore;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let url = '';
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    store = await initialisedStore('sqlite');
    const fernetText = Buffer.alloc(32, 9).toString('base64url');
    writeFileSync(join(store.dir, 'app-fernet.key'), `${fernetText}\n`, { mode: 0o600 });
    await store.withLibrary(async (lockbox) => {
      const db = lockbox.vault.store.db;
      await sql`create table user_keys (id integer primary key, provider text not null, api_key text)`.execute(
        db,
      );
      for (const [id, row] of Object.entries(LEGACY)) {
        const token = encryptFernet(parseFernetKey(fernetText), Buffer.from(row.api_key));
        await sql`insert into user_keys values (${Number(id)}, ${row.provider}, ${token})`.execute(
          db,
        );
      }
    });
    const adopted = await store.run([
      ...['rotate', 'adopt', '--table', 'user_keys', '--column', 'api_key'],
      ...['--register', '--primary-key', 'id', '--fernet-key-file', 'app-fernet.key'],
    ]);
    expect(adopted.code, adopted.stderr).toBe(0);

    await store.withLibrary(async (lockbox) => {
      await lockbox.secrets.set('prod', 'db', 'prod-db-canary-5512');
      const field = 'user_keys.api_key';
      const grants: Record<string, string[]> = {
        app: ['secrets:read:app:*', 'secrets:write:app:*'],
        fields_rw: [`fields:encrypt:${field}`, `fields:decrypt:${field}`],
        fields_decrypt: [`fields:decrypt:${field}`],
        app_service: [`fields:encrypt:${field}`, `fields:decrypt:${field}`],
        admin: ['admin'],
      };
      for (const [name, permissions] of Object.entries(grants)) {
        tokens[name] = (await lockbox.tokens.create({ name, permissions })).token;
      }
      tokens.bogus = `lbx_000000000000_${'A'.repeat(43)}`;
      const ciphertext = await lockbox.fields.encrypt('user_keys', 'api_key', 500, FROM_TS);
      writeFileSync(join(store.dir, 'from-ts.json'), JSON.stringify({ ciphertext }));
    });

    const cert = join(store.dir, 'cert.pem');
    const key = join(store.dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
        ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'],
        ...['-keyout', key, '-out', cert],
      ],
      { stdio: 'ignore' },
    );
    server = startCli(['serve', '--port', '0', '--tls-cert', cert, '--tls-key', key], {
      cwd: store.dir,
      env: store.env,
    });
    url = await new Promise<string>((resolve, reject) => {
      server?.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        serverLog += chunk;
      });
      let stderr = '';
      server?.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const found = /serving on (https:\/\/\S+)/.exec(stderr);
        if (found?.[1]) resolve(found[1]);
      });
      server?.once('exit', (code) => reject(new Error(`lockbox serve exited ${code}: ${stderr}`)));
    });
  });

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      const exited = finished(server);
      server.kill('SIGTERM');
      await exited;
    }
    await store?.drop();
  });

  it('passes python3 -m unittest, exchanges field values with TypeScript, and leaks nothing', async () => {
    const toTs = join(store.dir, 'to-ts.json');
    const config = {
      url,
      caFile: join(store.dir, 'cert.pem'),
      tokens,
      fromTs: {
        key: { id: 500 },
        plaintext: FROM_TS,
        ...JSON.parse(readFileSync(join(store.dir, 'from-ts.json'), 'utf8')),
      },
      toTs: { key: { id: 501 }, plaintext: FROM_PY, file: toTs },
      app: { database: store.db.file, rows: LEGACY },
    };
    const python = spawn('python3', ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], {
      cwd: PYTHON_DIR,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        LOCKBOX_TEST_CONFIG: JSON.stringify(config),
        // No __pycache__ in the source tree.
        PYTHONDONTWRITEBYTECODE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // python3 missing rejects here (ENOENT): the test fails, it is not skipped.
    const result = await finished(python);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).toMatch(/Ran \d+ tests/);
    expect(result.stderr).toMatch(/\nOK\n/);

    const { ciphertext } = JSON.parse(readFileSync(toTs, 'utf8')) as { ciphertext: string };
    await store.withLibrary(async (lockbox) => {
      expect(await lockbox.fields.decrypt('user_keys', 'api_key', 501, ciphertext)).toBe(FROM_PY);
      const audit = JSON.stringify(
        await lockbox.vault.store.db.selectFrom('lockbox_audit').selectAll().execute(),
      );
      const needles = [
        FROM_TS,
        FROM_PY,
        ...Object.values(LEGACY).map((row) => row.api_key),
        ...Object.values(tokens),
      ];
      expect(serverLog.length).toBeGreaterThan(0);
      for (const needle of needles) {
        expect(serverLog, 'server log').not.toContain(needle);
        expect(audit, 'audit table').not.toContain(needle);
      }
    });
  });
});
