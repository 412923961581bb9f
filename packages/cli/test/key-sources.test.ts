import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, SPAWNING, tempDir } from './helpers/cli.js';

/** A store in `dir/data` whose key lives in `dir/keys/main.key`, out of the default places. */
describe('where the CLI finds the store and its key', SPAWNING, () => {
  let dir: string;
  let cleanup: () => void;
  let key: string;
  const getDemo = (args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli([...args, 'get', 'demo', 'k'], { cwd: dir, env, ...(input ? { input } : {}) });
  const expectValue = (result: CliResult) => {
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('v\n');
    expect(result.code).toBe(0);
  };

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'keys'));
    const init = await runCli(['init', '--print-key', '--database', 'data/store.db'], { cwd: dir });
    key = init.stdout.trim();
    writeFileSync(join(dir, 'keys', 'main.key'), `${key}\n`, { mode: 0o600 });
    const set = await runCli(['set', 'demo', 'k', '--database', 'data/store.db'], {
      cwd: dir,
      env: { LOCKBOX_MASTER_KEY: key },
      input: 'v',
    });
    expect(set.code).toBe(0);
  });
  afterAll(() => cleanup());

  it('reads the key from LOCKBOX_MASTER_KEY, LOCKBOX_MASTER_KEY_FILE and --master-key-file', async () => {
    const database = { LOCKBOX_DATABASE: 'data/store.db' };
    expectValue(await getDemo([], { ...database, LOCKBOX_MASTER_KEY: key }));
    expectValue(await getDemo([], { ...database, LOCKBOX_MASTER_KEY_FILE: 'keys/main.key' }));
    expectValue(await getDemo(['--master-key-file', 'keys/main.key'], database));
  });

  it('reads the key from stdin with --master-key-stdin, and then refuses a value on stdin too', async () => {
    expectValue(
      await getDemo(['--master-key-stdin', '--database', 'data/store.db'], {}, `${key}\n`),
    );
    const set = await runCli(
      ['set', 'demo', 'other', '--master-key-stdin', '--database', 'data/store.db'],
      { cwd: dir, input: key },
    );
    expect(set.code).toBe(2);
    expect(set.stderr).toMatch(/stdin carries the master key/);
  });

  it('reads a config file, resolving its paths against its own directory', async () => {
    writeFileSync(
      join(dir, 'keys', 'lockbox.json'),
      JSON.stringify({ database: '../data/store.db', masterKeyFile: 'main.key' }),
    );
    expectValue(await getDemo(['--config', 'keys/lockbox.json']));
    expectValue(await getDemo([], { LOCKBOX_CONFIG: join(dir, 'keys', 'lockbox.json') }));
    // ./lockbox.json is picked up without being named.
    renameSync(join(dir, 'keys', 'lockbox.json'), join(dir, 'lockbox.json'));
    writeFileSync(
      join(dir, 'lockbox.json'),
      JSON.stringify({ database: 'data/store.db', masterKeyFile: 'keys/main.key' }),
    );
    expectValue(await getDemo([]));
  });

  it('refuses a key given in the wrong shape, naming the source but not the value', async () => {
    const result = await getDemo([], {
      LOCKBOX_DATABASE: 'data/store.db',
      LOCKBOX_MASTER_KEY: 'c2hvcnQ=',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error \[KEY_INVALID_LENGTH\]/);
    expect(result.stderr).not.toContain('c2hvcnQ');
  });
});
