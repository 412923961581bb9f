/**
 * The backup commands as a user runs them: export, import (preview, apply),
 * snapshot, restore, recovery add/replace, init --recovery-identity, and the
 * lost-key drill with `lockbox recover`, each against the built binary.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAgeIdentity } from '@lockbox/core';
import { AGE, DIALECTS, freshDatabase, runAge } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, runCli, tempDir } from './helpers/cli.js';

const CANARY = 'sk_live_CANARY_4f2e';
/** Each test spawns the CLI several times; a loaded CI machine needs a few seconds per spawn. */
const SLOW = { timeout: 240_000 };

describe.each(DIALECTS)('backup commands on %s', (dialect) => {
  const stores: CliStore[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.drop();
    for (const drop of cleanups.splice(0)) await drop();
  });

  /** A working directory and an empty database, not initialised. */
  async function bare() {
    const { dir, cleanup } = tempDir();
    const db = await freshDatabase(dialect);
    const handle = {
      dir,
      run: (args: readonly string[], options: { input?: string } = {}) =>
        runCli(args, { ...options, cwd: dir, env: { LOCKBOX_DATABASE: db.url } }),
      drop: async () => {
        await db.drop();
        cleanup();
      },
    };
    cleanups.push(handle.drop);
    return handle;
  }

  async function store(): Promise<CliStore> {
    const s = await initialisedStore(dialect);
    stores.push(s);
    return s;
  }

  async function identityFile(s: CliStore, name = 'identity.txt') {
    const pair = await generateAgeIdentity();
    const path = join(s.dir, name);
    writeFileSync(path, `${pair.identity}\n`, { mode: 0o600 });
    return { ...pair, path };
  }

  it(
    'carries a composite-key field value through export and import into another master key',
    SLOW,
    async () => {
      const createTable = sql`create table user_keys (user_id integer not null, provider text not null, api_key text, primary key (user_id, provider))`;
      const field = { table: 'user_keys', column: 'api_key', primaryKey: ['user_id', 'provider'] };
      const row = { user_id: 1, provider: 'aws' };
      const source = await store();
      await source.withLibrary(async (lockbox) => {
        await createTable.execute(lockbox.vault.store.db);
        await lockbox.fields.register(field);
        const sealed = await lockbox.fields.encrypt('user_keys', 'api_key', row, CANARY);
        await sql`insert into user_keys values (1, 'aws', ${sealed})`.execute(
          lockbox.vault.store.db,
        );
      });
      const id = await identityFile(source);
      const exported = await source.run(['export', '-r', id.recipient, '-o', 'bundle.age']);
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stdout).toContain('user_keys.api_key: 1');

      const target = await store();
      await target.withLibrary(async (lockbox) => {
        await createTable.execute(lockbox.vault.store.db);
        await lockbox.fields.register(field);
        await sql`insert into user_keys values (1, 'aws', null)`.execute(lockbox.vault.store.db);
      });
      writeFileSync(join(target.dir, 'identity.txt'), readFileSync(id.path), { mode: 0o600 });
      writeFileSync(join(target.dir, 'bundle.age'), readFileSync(join(source.dir, 'bundle.age')));
      const applied = await target.run(['import', '--apply', '-i', 'identity.txt', 'bundle.age']);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/user_keys\.api_key\s+1\s+1\s+0\s+0\s+ok/);
      expect(applied.stdout + applied.stderr).not.toContain(CANARY);
      const value = await target.withLibrary(async (lockbox) => {
        const stored = await lockbox.fields.readRow('user_keys', 'api_key', row);
        return lockbox.fields.decrypt('user_keys', 'api_key', row, stored?.value as string);
      });
      expect(value).toBe(CANARY);
    },
  );

  it(
    'exports to a 0600 file of ciphertext only, previews, then applies into another store',
    SLOW,
    async () => {
      const source = await store();
      expect((await source.run(['set', 'prod', 'STRIPE_KEY'], { input: CANARY })).code).toBe(0);
      expect((await source.run(['set', 'dev', 'TOKEN'], { input: 'dev-token' })).code).toBe(0);
      const id = await identityFile(source);
      const exported = await source.run([
        'export',
        '-r',
        id.recipient,
        '-o',
        'bundle.age',
        '--json',
      ]);
      expect(exported.code, exported.stderr).toBe(0);
      expect(JSON.parse(exported.stdout)).toMatchObject({ records: 2, complete: true });
      const file = join(source.dir, 'bundle.age');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const bytes = readFileSync(file);
      expect(bytes.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
      expect(bytes.includes(Buffer.from(CANARY))).toBe(false);
      if (AGE !== undefined) {
        expect((await runAge(['-d', '-i', id.path], bytes)).toString()).toContain(CANARY);
      }
      const again = await source.run(['export', '-r', id.recipient, '-o', 'bundle.age']);
      expect(again.code).toBe(5);
      expect(again.stderr).toContain('FILE_EXISTS');

      const target = await store();
      writeFileSync(join(target.dir, 'identity.txt'), readFileSync(id.path), { mode: 0o600 });
      writeFileSync(join(target.dir, 'bundle.age'), bytes);
      const preview = await target.run(['import', '--preview', '-i', 'identity.txt', 'bundle.age']);
      expect(preview.code, preview.stderr).toBe(0);
      expect(preview.stdout).toMatch(/prod\s+1\s+0\s+0\s+0/);
      expect(preview.stdout).not.toContain(CANARY);
      expect((await target.run(['get', 'prod', 'STRIPE_KEY'])).code).toBe(4);
      const applied = await target.run([
        'import',
        '--apply',
        '-i',
        'identity.txt',
        'bundle.age',
        '--json',
      ]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(JSON.parse(applied.stdout)).toMatchObject({
        mode: 'apply',
        writes: { create: 2, overwrite: 0 },
      });
      expect((await target.run(['get', 'prod', 'STRIPE_KEY'])).stdout.trim()).toBe(CANARY);
    },
  );

  it(
    'writes the bundle to a piped stdout and the summary to stderr; passphrases come from a variable',
    SLOW,
    async () => {
      const s = await store();
      await s.run(['set', 'prod', 'A'], { input: 'a' });
      const id = await identityFile(s);
      const out = await s.run(['export', '-r', id.recipient]);
      expect(out.code).toBe(0);
      expect(out.stdout.startsWith('age-encryption.org/v1\n')).toBe(true);
      expect(out.stderr).toContain('Exported 1 secret(s)');

      const env = { BUNDLE_PASS: 'correct horse battery staple' };
      const exported = await s.run(['export', '--passphrase-env', 'BUNDLE_PASS', '-o', 'p.age'], {
        env,
      });
      expect(exported.code, exported.stderr).toBe(0);
      // (A wrong passphrase is refused in the core tests; each scrypt here costs seconds.)
      const preview = await s.run(
        ['import', '--preview', '--passphrase-env', 'BUNDLE_PASS', 'p.age'],
        { env },
      );
      expect(preview.code, preview.stderr).toBe(0);
      expect(preview.stdout).toMatch(/prod\s+0\s+0\s+1\s+0/);
    },
  );

  it('refuses bad imports with their codes and exit codes, changing nothing', SLOW, async () => {
    const s = await store();
    await s.run(['set', 'prod', 'A'], { input: 'original' });
    const id = await identityFile(s);
    await identityFile(s, 'stranger.txt');
    expect((await s.run(['export', '-r', id.recipient, '-o', 'b.age'])).code).toBe(0);
    await s.run(['set', 'prod', 'A'], { input: 'edited-after-export' });

    const wrong = await s.run(['import', '--apply', '-i', 'stranger.txt', 'b.age']);
    expect([wrong.code, wrong.stderr]).toEqual([
      3,
      expect.stringContaining('BUNDLE_DECRYPT_FAILED'),
    ]);
    const conflict = await s.run(['import', '--apply', '-i', 'identity.txt', 'b.age']);
    expect([conflict.code, conflict.stderr]).toEqual([
      5,
      expect.stringContaining('IMPORT_CONFLICT'),
    ]);
    writeFileSync(join(s.dir, 'plain.jsonl'), '{"format":"lockbox-bundle","version":1}\n');
    const plain = await s.run(['import', '--apply', '-i', 'identity.txt', 'plain.jsonl']);
    expect([plain.code, plain.stderr]).toEqual([2, expect.stringContaining('BUNDLE_MALFORMED')]);
    const big = await s.run([
      'import',
      '--apply',
      '-i',
      'identity.txt',
      '--max-size',
      '100',
      'b.age',
    ]);
    expect([big.code, big.stderr]).toEqual([2, expect.stringContaining('BUNDLE_TOO_LARGE')]);
    const both = await s.run(['import', '--preview', '--apply', '-i', 'identity.txt', 'b.age']);
    expect(both.code).toBe(2);
    writeFileSync(join(s.dir, 'loose.txt'), readFileSync(id.path), { mode: 0o644 });
    const loose = await s.run(['import', '--preview', '-i', 'loose.txt', 'b.age']);
    expect([loose.code, loose.stderr]).toEqual([2, expect.stringContaining('KEY_FILE_INSECURE')]);
    expect((await s.run(['get', 'prod', 'A'])).stdout.trim()).toBe('edited-after-export');

    const overwrite = await s.run([
      'import',
      '--apply',
      '-i',
      'identity.txt',
      '--on-conflict',
      'overwrite',
      'b.age',
    ]);
    expect(overwrite.code, overwrite.stderr).toBe(0);
    expect((await s.run(['get', 'prod', 'A'])).stdout.trim()).toBe('original');
  });

  it(
    'init --recovery-identity writes a 0600 identity and status reports the store backed up',
    SLOW,
    async () => {
      const s = await bare();
      const init = await s.run(['init', '--recovery-identity', 'recovery.txt', '--json']);
      expect(init.code, init.stderr).toBe(0);
      const result = JSON.parse(init.stdout) as { recoveryRecipient: string };
      expect(result.recoveryRecipient).toMatch(/^age1/);
      expect(init.stderr).toContain('MOVE IT OFFLINE NOW');
      const path = join(s.dir, 'recovery.txt');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, 'utf8')).toContain(`# public key: ${result.recoveryRecipient}`);
      expect((await s.run(['set', 'prod', 'A'], { input: 'a' })).code).toBe(0);
      const status = await s.run(['status', '--json']);
      expect(JSON.parse(status.stdout).backup).toMatchObject({
        state: 'ok',
        recoveryRecipient: result.recoveryRecipient,
        dataKeysWithoutRecovery: 0,
      });
      expect((await s.run(['status'])).stdout).toContain(
        `backup:          ok (recovery recipient ${result.recoveryRecipient})`,
      );
    },
  );

  it(
    'runs the lost-key drill: recover with the identity and a generated key; the old key opens nothing',
    SLOW,
    async () => {
      const s = await store();
      const status0 = await s.run(['status']);
      expect(status0.stdout).toContain('NOT BACKED UP');
      const added = await s.run(['recovery', 'add', '--generate', 'recovery.txt']);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toContain('MOVE IT OFFLINE NOW');
      for (const [scope, name, value] of [
        ['prod', 'A', 'alpha'],
        ['user:7', 'B', 'beta'],
      ] as const) {
        expect((await s.run(['set', scope, name], { input: value })).code).toBe(0);
      }
      const oldKey = readFileSync(join(s.dir, 'lockbox.key'));
      rmSync(join(s.dir, 'lockbox.key'));
      const recovered = await s.run([
        'recover',
        '-i',
        'recovery.txt',
        '--generate-key',
        'lockbox.key',
      ]);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(recovered.stdout).toContain('the old key opens nothing now');
      expect(statSync(join(s.dir, 'lockbox.key')).mode & 0o777).toBe(0o600);
      expect((await s.run(['get', 'prod', 'A'])).stdout.trim()).toBe('alpha');
      expect((await s.run(['get', 'user:7', 'B'])).stdout.trim()).toBe('beta');
      writeFileSync(join(s.dir, 'old.key'), oldKey, { mode: 0o600 });
      const old = await s.run(['--master-key-file', 'old.key', 'get', 'prod', 'A']);
      expect([old.code, old.stderr]).toEqual([3, expect.stringContaining('KEY_WRONG')]);

      await identityFile(s, 'stranger.txt');
      const refused = await s.run([
        'recover',
        '-i',
        'stranger.txt',
        '--generate-key',
        'another.key',
      ]);
      expect([refused.code, refused.stderr]).toEqual([
        3,
        expect.stringContaining('RECOVERY_IDENTITY_MISMATCH'),
      ]);
      expect(() => statSync(join(s.dir, 'another.key'))).toThrow();
    },
  );

  it('recovery replace rewraps for a new recipient', SLOW, async () => {
    const s = await store();
    await s.run(['set', 'prod', 'A'], { input: 'a' });
    const first = await generateAgeIdentity();
    const second = await generateAgeIdentity();
    expect((await s.run(['recovery', 'replace', first.recipient])).stderr).toContain(
      'RECOVERY_NOT_CONFIGURED',
    );
    expect((await s.run(['recovery', 'add', first.recipient])).code).toBe(0);
    const refused = await s.run(['recovery', 'add', second.recipient]);
    expect([refused.code, refused.stderr]).toEqual([
      2,
      expect.stringContaining('recovery replace'),
    ]);
    const replaced = await s.run(['recovery', 'replace', second.recipient, '--json']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({
      recipient: second.recipient,
      previous: first.recipient,
    });
  });

  it('moves a store with snapshot and restore under the same key', SLOW, async () => {
    const source = await store();
    await source.run(['set', 'prod', 'A'], { input: CANARY });
    const id = await identityFile(source);
    const snap = await source.run(['snapshot', '-r', id.recipient, '-o', 'snap.age']);
    expect(snap.code, snap.stderr).toBe(0);
    expect(readFileSync(join(source.dir, 'snap.age')).includes(Buffer.from('prod'))).toBe(false);

    // The new server: an empty database, initialised with the same master key.
    const target = await bare();
    for (const file of ['lockbox.key', 'snap.age', 'identity.txt']) {
      writeFileSync(join(target.dir, file), readFileSync(join(source.dir, file)), { mode: 0o600 });
    }
    expect((await target.run(['init', '--existing-key'])).code).toBe(0);
    const noIdentity = await target.run(['restore', 'snap.age']);
    expect([noIdentity.code, noIdentity.stderr]).toEqual([
      2,
      expect.stringContaining('age-encrypted'),
    ]);
    const restored = await target.run(['restore', '-i', 'identity.txt', 'snap.age']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('Restored 1 secret(s)');
    expect((await target.run(['get', 'prod', 'A'])).stdout.trim()).toBe(CANARY);
    const twice = await target.run(['restore', '-i', 'identity.txt', 'snap.age']);
    expect([twice.code, twice.stderr]).toEqual([
      5,
      expect.stringContaining('RESTORE_TARGET_NOT_EMPTY'),
    ]);
  });
});
