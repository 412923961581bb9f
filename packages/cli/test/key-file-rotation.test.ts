/**
 * Key files follow a master rotation: after `lockbox rotate master` on a store
 * set up by `lockbox init`, ./lockbox.key holds the new key and
 * ./lockbox.key.previous the old one, and the next command needs no flag. A
 * rotation killed with SIGKILL at each step (mid-rewrap, and after each file
 * step of the swap) leaves files with which `lockbox get` works in the default
 * configuration, and a rerun of `lockbox rotate master` finishes the same swap.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint, keyringFromConfig, openLockbox } from '@lockbox/core';
import { drivers } from '@lockbox/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baseEnv,
  type CliStore,
  finished,
  initialisedStore,
  runCli,
  SPAWNING,
  tempDir,
} from './helpers/cli.js';

const CHILD = fileURLToPath(new URL('./fixtures/rotate-master-child.mjs', import.meta.url));
const SCOPES = ['tenant:1', 'tenant:2', 'tenant:3', 'tenant:4'];

const keyFp = (path: string) =>
  fingerprint(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'));

/** Every secret through the library, with only the key files (as the CLI reads them). */
async function expectReadableWith(dir: string, database: string, files: string[]) {
  const [primaryFile, ...previousFiles] = files.map((f) => join(dir, f));
  const keyring = await keyringFromConfig({ primaryFile, previousFiles });
  const lockbox = await openLockbox({ database, drivers, keyring, mode: 'open' });
  try {
    for (const scope of SCOPES)
      expect(await lockbox.secrets.get(scope, 'api-key')).toBe(`sk-${scope}`);
  } finally {
    await lockbox.close();
  }
}

/** A copy of the store: its key files and its database file, in a new directory. */
function copyStore(store: CliStore): { dir: string; database: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  cpSync(store.dir, dir, { recursive: true });
  const database = join(dir, 'lockbox.db');
  for (const suffix of ['', '-wal', '-shm']) {
    const file = `${store.db.file as string}${suffix}`;
    if (existsSync(file)) cpSync(file, `${database}${suffix}`);
  }
  return { dir, database, cleanup };
}

describe('key files follow lockbox rotate master', SPAWNING, () => {
  let store: CliStore;

  beforeAll(async () => {
    store = await initialisedStore('sqlite');
    await store.withLibrary(async (lockbox) => {
      for (const scope of SCOPES) await lockbox.secrets.set(scope, 'api-key', `sk-${scope}`);
    });
  });
  afterAll(async () => {
    await store.drop();
  });

  it('swaps lockbox.key to the new key, keeps the old one as lockbox.key.previous, and needs no flag afterwards', async () => {
    const oldFp = keyFp(join(store.dir, 'lockbox.key'));
    const rotated = await store.run(['rotate', 'master']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newFp = keyFp(join(store.dir, 'lockbox.key'));
    expect(newFp).not.toBe(oldFp);
    expect(keyFp(join(store.dir, 'lockbox.key.previous'))).toBe(oldFp);
    expect(existsSync(join(store.dir, 'lockbox.key.next'))).toBe(false);
    for (const file of ['lockbox.key', 'lockbox.key.previous']) {
      expect(statSync(join(store.dir, file)).mode & 0o777).toBe(0o600);
    }
    expect(rotated.stdout).toContain(`lockbox.key now holds the new master key ${newFp}`);

    const got = await store.run(['get', 'tenant:1', 'api-key']);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe('sk-tenant:1\n');

    const status = await store.run(['status']);
    expect(status.stdout).toContain(
      `primary key:     ${newFp} (from ${join(store.dir, 'lockbox.key')})`,
    );
    expect(status.stdout).toContain(`${oldFp} (from ${join(store.dir, 'lockbox.key.previous')})`);
    const doctor = await store.run(['doctor']);
    expect(doctor.code, doctor.stderr).toBe(0);
    expect(doctor.stdout).toContain(`→ delete ${join(store.dir, 'lockbox.key.previous')}`);
    // The new key alone opens everything: the old one is really droppable.
    await expectReadableWith(store.dir, store.db.url, ['lockbox.key']);
  });

  it('with the key in LOCKBOX_MASTER_KEY, changes no file and prints what to change, in order', async () => {
    const { dir, database, cleanup } = copyStore(store);
    try {
      const env = {
        LOCKBOX_DATABASE: database,
        LOCKBOX_MASTER_KEY: readFileSync(join(dir, 'lockbox.key'), 'utf8').trim(),
      };
      const before = readdirSync(dir).sort();
      const rotated = await runCli(['rotate', 'master', '--write-new-key-file', 'new.key'], {
        cwd: dir,
        env,
      });
      // The directory holds key files too, but the primary comes from the variable.
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(readdirSync(dir).sort()).toEqual([...before, 'new.key'].sort());
      const out = rotated.stdout;
      expect(out).toContain('The key configuration was not changed. Change it in this order:');
      expect(out).toContain(`1. set LOCKBOX_MASTER_KEY to the key in ${join(dir, 'new.key')}`);
      expect(out.indexOf('One instance:')).toBeLessThan(out.indexOf('Several instances'));
      expect(out).toContain(`--new-key-file ${join(dir, 'new.key')}`);
    } finally {
      cleanup();
    }
  });

  // Each case kills a rotation at one point, then checks the files and a rerun.
  it.each(['progress:2', 'staged', 'previous-retired', 'previous-written', 'primary-replaced'])(
    'killed at %s: lockbox get works with the default configuration, and a rerun finishes',
    async (killAt) => {
      const { dir, database, cleanup } = copyStore(store);
      try {
        const oldFp = keyFp(join(dir, 'lockbox.key'));
        const env = { ...baseEnv(), LOCKBOX_DATABASE: database };
        const child = await finished(
          spawn(process.execPath, [CHILD], {
            cwd: dir,
            env: { ...env, KILL_AT: killAt },
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        );
        expect(child.signal, child.stderr).toBe('SIGKILL');

        const got = await runCli(['get', 'tenant:3', 'api-key'], { cwd: dir, env });
        expect(got.code, got.stderr).toBe(0);
        expect(got.stdout).toBe('sk-tenant:3\n');

        if (killAt !== 'primary-replaced') {
          const rerun = await runCli(['rotate', 'master'], { cwd: dir, env });
          expect(rerun.code, rerun.stderr).toBe(0);
        }
        const newFp = keyFp(join(dir, 'lockbox.key'));
        expect(newFp).not.toBe(oldFp);
        expect(keyFp(join(dir, 'lockbox.key.previous'))).toBe(oldFp);
        expect(existsSync(join(dir, 'lockbox.key.next'))).toBe(false);
        await expectReadableWith(dir, database, ['lockbox.key']);
      } finally {
        cleanup();
      }
    },
  );
});
