import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLockboxError } from '@lockbox/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type GlobalOptions, resolveConfig } from '../src/config.js';
import { tempDir } from './helpers/cli.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function workdir(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

function resolveIn(cwd: string, flags: GlobalOptions = {}, env: Record<string, string> = {}) {
  return resolveConfig(flags, { cwd, env, readStdin: async () => 'stdin-key' });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isLockboxError(err)) return err.code;
    throw err;
  }
  return 'no error';
}

describe('resolveConfig', () => {
  it('defaults to ./lockbox.db and, when it exists, ./lockbox.key', async () => {
    const dir = workdir();
    const bare = await resolveIn(dir);
    expect(bare.database).toBe(join(dir, 'lockbox.db'));
    expect(bare.keys).toEqual({});
    expect(bare.keyFile).toBe(join(dir, 'lockbox.key'));
    writeFileSync(join(dir, 'lockbox.key'), 'k');
    expect((await resolveIn(dir)).keys).toEqual({ primaryFile: join(dir, 'lockbox.key') });
  });

  it('takes flags over environment over config file', async () => {
    const dir = workdir();
    writeFileSync(
      join(dir, 'lockbox.json'),
      JSON.stringify({ database: 'from-file.db', masterKeyFile: 'file.key' }),
    );
    const fromFile = await resolveIn(dir);
    expect(fromFile.configFile).toBe(join(dir, 'lockbox.json'));
    expect(fromFile.database).toBe(join(dir, 'from-file.db'));
    expect(fromFile.keys.primaryFile).toBe(join(dir, 'file.key'));

    const env = { LOCKBOX_DATABASE: 'postgres://u:pw@h/db', LOCKBOX_MASTER_KEY: 'env-key' };
    const fromEnv = await resolveIn(dir, {}, env);
    expect(fromEnv.database).toBe('postgres://u:pw@h/db');
    expect(fromEnv.keys).toEqual({ primary: 'env-key' });
    expect(fromEnv.primaryKeySource).toBe('LOCKBOX_MASTER_KEY');

    const fromFlags = await resolveIn(dir, { database: 'flag.db', masterKeyFile: 'flag.key' }, env);
    expect(fromFlags.database).toBe(join(dir, 'flag.db'));
    expect(fromFlags.keys).toEqual({ primaryFile: join(dir, 'flag.key') });

    const fromStdin = await resolveIn(dir, { masterKeyStdin: true }, env);
    expect(fromStdin.keys).toEqual({ primary: 'stdin-key' });
    expect(fromStdin.primaryKeySource).toBe('stdin');
  });

  it("resolves a config file's relative paths against its own directory", async () => {
    const dir = workdir();
    mkdirSync(join(dir, 'conf'));
    writeFileSync(
      join(dir, 'conf', 'lb.json'),
      JSON.stringify({
        database: 'sqlite:data/x.db',
        masterKeyFile: 'k',
        previousKeyFiles: ['old.key'],
      }),
    );
    const config = await resolveIn(dir, {}, { LOCKBOX_CONFIG: 'conf/lb.json' });
    expect(config.database).toBe(join(dir, 'conf', 'data', 'x.db'));
    expect(config.keys).toEqual({
      primaryFile: join(dir, 'conf', 'k'),
      previousFiles: [join(dir, 'conf', 'old.key')],
    });
  });

  it('splits LOCKBOX_PREVIOUS_KEYS on commas and whitespace', async () => {
    const config = await resolveIn(workdir(), {}, { LOCKBOX_PREVIOUS_KEYS: 'a, b\nc' });
    expect(config.keys.previous).toEqual(['a', 'b', 'c']);
  });

  it('refuses keys inside a config file, unknown fields, bad JSON and a missing explicit file', async () => {
    const dir = workdir();
    const write = (text: string) => writeFileSync(join(dir, 'lockbox.json'), text);
    write(JSON.stringify({ masterKey: 'abc' }));
    expect(await codeOf(resolveIn(dir))).toBe('INVALID_ARGUMENT');
    write(JSON.stringify({ databse: 'typo' }));
    expect(await codeOf(resolveIn(dir))).toBe('INVALID_ARGUMENT');
    write('{not json');
    expect(await codeOf(resolveIn(dir))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(resolveIn(dir, { config: 'missing.json' }))).toBe('PATH_INVALID');
  });

  it('refuses two primary keys at the same level', async () => {
    const env = { LOCKBOX_MASTER_KEY: 'a', LOCKBOX_MASTER_KEY_FILE: 'b' };
    expect(await codeOf(resolveIn(workdir(), {}, env))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(resolveIn(workdir(), { masterKeyFile: 'k', masterKeyStdin: true }))).toBe(
      'INVALID_ARGUMENT',
    );
    const uri = 'pkcs11:token=t;object=o?module-path=/m.so';
    expect(await codeOf(resolveIn(workdir(), { masterKeyUri: uri, masterKeyFile: 'k' }))).toBe(
      'INVALID_ARGUMENT',
    );
    const both = { LOCKBOX_MASTER_KEY_URI: uri, LOCKBOX_MASTER_KEY: 'a' };
    expect(await codeOf(resolveIn(workdir(), {}, both))).toBe('INVALID_ARGUMENT');
  });

  it('takes PKCS#11 URIs from flags, LOCKBOX_MASTER_KEY_URI and the config file', async () => {
    const flagUri = 'pkcs11:token=t;object=flag?module-path=/m.so&pin-source=env:PIN';
    const envUri = 'pkcs11:token=t;object=env?module-path=/m.so';
    const fileUri = 'pkcs11:token=t;object=file?module-path=/m.so';
    const dir = workdir();
    const config = (value: object) =>
      writeFileSync(join(dir, 'lockbox.json'), JSON.stringify(value));
    config({ masterKeyUri: fileUri, previousKeyUris: [envUri] });
    const fromFile = await resolveIn(dir);
    expect(fromFile.keys).toEqual({ primaryUri: fileUri, previousUris: [envUri] });
    // Status and messages name the key without module path or PIN source.
    expect(fromFile.primaryKeySource).toBe('pkcs11:token=t;object=file');
    const fromEnv = await resolveIn(dir, {}, { LOCKBOX_MASTER_KEY_URI: envUri });
    expect(fromEnv.keys.primaryUri).toBe(envUri);
    const fromFlags = await resolveIn(
      dir,
      { masterKeyUri: flagUri, previousKeyUri: [fileUri] },
      { LOCKBOX_MASTER_KEY_URI: envUri },
    );
    expect(fromFlags.keys).toEqual({ primaryUri: flagUri, previousUris: [fileUri] });
    config({ masterKeyUri: fileUri, masterKeyFile: 'k' });
    expect(await codeOf(resolveIn(dir))).toBe('INVALID_ARGUMENT');
  });
});

describe('the "fields" entry of a config file', () => {
  async function fieldsOf(fields: unknown): Promise<unknown> {
    const dir = workdir();
    writeFileSync(join(dir, 'lockbox.json'), JSON.stringify({ fields }));
    return (await resolveIn(dir)).fields;
  }

  async function refusal(fields: unknown): Promise<string> {
    try {
      await fieldsOf(fields);
    } catch (err) {
      if (isLockboxError(err) && err.code === 'INVALID_ARGUMENT') return err.message;
      throw err;
    }
    return 'no error';
  }

  it('accepts a key of one column or several, as a string or a list, and an optional scope', async () => {
    expect(
      await fieldsOf([
        { table: 'user_keys', column: 'api_key', primaryKey: ['user_id', 'provider'] },
        { table: 'webhooks', column: 'secret', primaryKey: 'id', scope: 'hooks' },
        { table: 'tokens', column: 'token', primaryKey: 'tenant, id' },
      ]),
    ).toEqual([
      { table: 'user_keys', column: 'api_key', primaryKey: ['user_id', 'provider'] },
      { table: 'webhooks', column: 'secret', primaryKey: ['id'], scope: 'hooks' },
      { table: 'tokens', column: 'token', primaryKey: ['tenant', 'id'] },
    ]);
  });

  it.each([
    ['not an array', { table: 't' }, '"fields" must be an array'],
    ['no primaryKey', [{ table: 't', column: 'c' }], 'needs "primaryKey"'],
    [
      'a bad identifier',
      [{ table: 't; drop', column: 'c', primaryKey: 'id' }],
      'plain SQL identifier',
    ],
    [
      'an unknown field',
      [{ table: 't', column: 'c', primaryKey: 'id', key: 1 }],
      'unknown field "key"',
    ],
    [
      'a key column twice',
      [{ table: 't', column: 'c', primaryKey: ['a', 'a'] }],
      'names a column twice',
    ],
    ['an empty key', [{ table: 't', column: 'c', primaryKey: [] }], '1 to 8 columns'],
    [
      'a reserved scope',
      [{ table: 't', column: 'c', primaryKey: 'id', scope: 'lockbox:audit' }],
      'reserved',
    ],
    [
      'the same field twice',
      [
        { table: 't', column: 'c', primaryKey: 'id' },
        { table: 't', column: 'c', primaryKey: 'uid' },
      ],
      'declares t.c a second time',
    ],
  ])('refuses %s, naming the entry', async (_what, fields, message) => {
    const text = await refusal(fields);
    expect(text).toContain(message);
    expect(text).toContain('lockbox.json');
  });
});
