import { spawnSync } from 'node:child_process';
import { DIALECTS } from '@lockbox/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CLI_MAIN, type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

describe.each(DIALECTS)('set, get, list, rm and status on %s', SPAWNING, (dialect) => {
  let store: CliStore;
  beforeAll(async () => {
    store = await initialisedStore(dialect);
  });
  afterAll(async () => {
    await store.drop();
  });

  it('stores a value from stdin, stripping exactly one trailing newline', async () => {
    const set = await store.run(['set', 'app', 'token'], { input: 'line1\nline2\n\n' });
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('set app/token (version 1)\n');
    const get = await store.run(['get', 'app', 'token']);
    expect(get.code).toBe(0);
    expect(get.stdout).toBe('line1\nline2\n\n');
    const exact = await store.run(['get', '-n', 'app', 'token']);
    expect(exact.stdout).toBe('line1\nline2\n');
  });

  it('takes "-" as stdin; a value argument only with --value-in-argv, with a warning', async () => {
    expect((await store.run(['set', 'app', 'dash', '-'], { input: 'from-stdin' })).code).toBe(0);
    expect((await store.run(['get', 'app', 'dash'])).stdout).toBe('from-stdin\n');
    const refused = await store.run(['set', 'app', 'arg', 'from-arg']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: a value given as an argument/);
    expect(refused.stderr).toMatch(/pipe it on stdin/);
    expect(refused.stderr).not.toContain('from-arg');
    const arg = await store.run(['set', 'app', 'arg', '--value-in-argv', 'from-arg']);
    expect(arg.code).toBe(0);
    expect(arg.stderr).toMatch(/shell history/);
    expect((await store.run(['get', 'app', 'arg'])).stdout).toBe('from-arg\n');
  });

  it('refuses an argument that is not UTF-8 instead of storing U+FFFD (TEXT_INVALID)', async () => {
    // bash passes the raw byte 0xff, which Node would decode as U+FFFD.
    const result = spawnSync(
      'bash',
      [
        '-c',
        `exec "$0" "$1" set app latin1 --value-in-argv $'caf\\xe9'`,
        process.execPath,
        CLI_MAIN,
      ],
      { cwd: store.dir, env: { ...baseEnv(), ...store.env }, encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error \[TEXT_INVALID\]: argument 5 is not valid UTF-8/);
    expect((await store.run(['get', 'app', 'latin1'])).code).toBe(4);
  });

  it('shows a name planted in the database with escapes, not as terminal commands', async () => {
    const planted = '\u001b[2J\u001b[Hlockbox: all keys ok';
    await store.withLibrary(async (lockbox) => {
      const db = lockbox.vault.store.db;
      const row = await db
        .selectFrom('lockbox_secrets')
        .selectAll()
        .where('scope', '=', 'app')
        .where('name', '=', 'dash')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('lockbox_secrets')
        .values({ ...row, name: planted })
        .execute();
    });
    for (const args of [
      ['list', 'app'],
      ['list', 'app', '--json'],
    ]) {
      const listed = await store.run(args);
      expect(listed.stdout).not.toContain('\u001b');
      expect(listed.stdout).toContain(args.length === 2 ? '\\x1b[2J' : '\\u001b[2J');
    }
    // The planted row does not decrypt (its name is bound into the ciphertext); remove it.
    await store.withLibrary((lockbox) =>
      lockbox.vault.store.db.deleteFrom('lockbox_secrets').where('name', '=', planted).execute(),
    );
  });

  it('bumps the version on overwrite and honours --if-version', async () => {
    await store.run(['set', 'app', 'cas'], { input: 'v1' });
    const second = await store.run(['set', 'app', 'cas', '--json'], { input: 'v2' });
    expect(JSON.parse(second.stdout)).toEqual({ scope: 'app', name: 'cas', version: 2 });
    const stale = await store.run(['set', 'app', 'cas', '--if-version', '1'], { input: 'v3' });
    expect(stale.code).toBe(5);
    expect(stale.stderr).toMatch(/^error \[VERSION_CONFLICT\]/);
    expect((await store.run(['get', 'app', 'cas'])).stdout).toBe('v2\n');
  });

  it('gives get --json as {scope, name, version, value}', async () => {
    await store.run(['set', 'json', 'k', '--metadata', '{"owner":"ops"}'], { input: 'val' });
    const get = await store.run(['get', 'json', 'k', '--json']);
    expect(JSON.parse(get.stdout)).toEqual({
      scope: 'json',
      name: 'k',
      version: 1,
      type: 'utf8',
      value: 'val',
    });
  });

  it('lists names and metadata without values', async () => {
    const list = await store.run(['list', 'json', '--json']);
    expect(list.code).toBe(0);
    const { secrets } = JSON.parse(list.stdout) as { secrets: Record<string, unknown>[] };
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({
      scope: 'json',
      name: 'k',
      version: 1,
      metadata: { owner: 'ops' },
      status: 'ok',
    });
    expect(list.stdout).not.toContain('val"');
    const text = await store.run(['list', '--verify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^SCOPE\s+NAME\s+VERSION/);
    expect(text.stdout).toMatch(/json\s+k\s+1/);
  });

  it('deletes with rm and reports a missing secret with exit code 4', async () => {
    await store.run(['set', 'app', 'gone'], { input: 'x' });
    const rm = await store.run(['rm', 'app', 'gone']);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toBe('deleted app/gone\n');
    const again = await store.run(['rm', 'app', 'gone']);
    expect(again.code).toBe(4);
    expect(again.stderr).toBe('error [SECRET_NOT_FOUND]: no secret "app/gone"\n');
    const get = await store.run(['get', 'app', 'gone', '--json']);
    expect(get.code).toBe(4);
    expect(JSON.parse(get.stderr)).toEqual({
      error: {
        code: 'SECRET_NOT_FOUND',
        message: 'no secret "app/gone"',
        details: { scope: 'app', name: 'gone' },
      },
    });
  });

  it('refuses bad names, reserved scopes and bad usage with exit code 2', async () => {
    const badName = await store.run(['set', 'app', ' padded'], { input: 'x' });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/^error \[NAME_INVALID\]/);
    const reserved = await store.run(['set', 'lockbox:audit', 'x'], { input: 'x' });
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toMatch(/^error \[SCOPE_INVALID\]/);
    const missingArg = await store.run(['get', 'app']);
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: missing required argument/);
    const unknown = await store.run(['frobnicate']);
    expect(unknown.code).toBe(2);
    const metadata = await store.run(['set', 'app', 'm', '--metadata', '[1]'], { input: 'x' });
    expect(metadata.code).toBe(2);
  });

  it('reports status: location, fingerprints, counts per scope', async () => {
    const status = await store.run(['status', '--json']);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.database.dialect).toBe(dialect);
    expect(report.schemaVersion).toBeGreaterThan(0);
    expect(report.keys.primary).toMatch(/^[0-9a-f]{16}$/);
    expect(report.keys.needed).toContainEqual({
      fingerprint: report.keys.primary,
      dataKeys: expect.any(Number),
      inKeyring: true,
    });
    expect(report.scopes).toContainEqual({ scope: 'json', secrets: 1 });
    expect(report.undecryptable).toEqual([]);
    const text = await store.run(['status']);
    expect(text.stdout).toContain(`primary key:     ${report.keys.primary}`);
    if (dialect === 'postgres') expect(text.stdout).not.toMatch(/postgres:\/\/[^@\s]*:[^*@\s]+@/);
  });
});
