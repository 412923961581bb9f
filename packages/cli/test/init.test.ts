import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, SPAWNING, tempDir } from './helpers/cli.js';

const cleanups: (() => void)[] = [];
function workdir(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('lockbox init', SPAWNING, () => {
  it('creates the store and a 0600 key file, and says losing the key loses every secret', async () => {
    const dir = workdir();
    const init = await runCli(['init'], { cwd: dir });
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/Master key fingerprint: [0-9a-f]{16}/);
    expect(init.stdout).toMatch(/losing it loses every secret in this store/);
    expect(statSync(join(dir, 'lockbox.key')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, 'lockbox.db'))).toBe(true);
    const key = readFileSync(join(dir, 'lockbox.key'), 'utf8');
    // The key itself is never printed.
    expect(init.stdout + init.stderr).not.toContain(key.trim());
    const status = await runCli(['status', '--json'], { cwd: dir });
    expect(status.code).toBe(0);
    expect(init.stdout).toContain(JSON.parse(status.stdout).keys.primary);
  });

  it('refuses to initialise twice (exit 5) and leaves the key file alone', async () => {
    const dir = workdir();
    await runCli(['init'], { cwd: dir });
    const key = readFileSync(join(dir, 'lockbox.key'));
    const again = await runCli(['init', '--key-file', 'other.key'], { cwd: dir });
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^error \[STORE_ALREADY_INITIALIZED\]/);
    expect(existsSync(join(dir, 'other.key'))).toBe(false);
    const forced = await runCli(['init', '--force'], { cwd: dir });
    expect(forced.code).toBe(5);
    expect(readFileSync(join(dir, 'lockbox.key'))).toEqual(key);
  });

  it('refuses to overwrite an existing key file without --force, creating no store', async () => {
    const dir = workdir();
    writeFileSync(join(dir, 'lockbox.key'), 'not mine', { mode: 0o600 });
    const init = await runCli(['init'], { cwd: dir });
    expect(init.code).toBe(5);
    expect(init.stderr).toMatch(/^error \[KEY_FILE_EXISTS\].*--existing-key.*--force/);
    expect(existsSync(join(dir, 'lockbox.db'))).toBe(false);
    expect(readFileSync(join(dir, 'lockbox.key'), 'utf8')).toBe('not mine');
    const forced = await runCli(['init', '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, 'lockbox.key'), 'utf8')).not.toBe('not mine');
  });

  it('--print-key prints the key once on stdout, writes no file, and the key opens the store', async () => {
    const dir = workdir();
    const init = await runCli(['init', '--print-key'], { cwd: dir });
    expect(init.code).toBe(0);
    const key = init.stdout.trim();
    expect(init.stdout).toBe(`${key}\n`);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(init.stderr).toMatch(/shown only this once/);
    expect(existsSync(join(dir, 'lockbox.key'))).toBe(false);
    const env = { LOCKBOX_MASTER_KEY: key };
    expect((await runCli(['set', 's', 'n'], { cwd: dir, env, input: 'v' })).code).toBe(0);
    expect((await runCli(['get', 's', 'n'], { cwd: dir, env })).stdout).toBe('v\n');
    // Without the key the store cannot be used.
    const keyless = await runCli(['get', 's', 'n'], { cwd: dir });
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toMatch(/^error \[KEY_MISSING\]/);
  });

  it('--existing-key initialises with the configured key; a configured key is not silently replaced', async () => {
    const dir = workdir();
    const first = await runCli(['init', '--print-key', '--database', 'a.db'], { cwd: dir });
    const env = { LOCKBOX_MASTER_KEY: first.stdout.trim(), LOCKBOX_DATABASE: 'b.db' };
    const refused = await runCli(['init'], { cwd: dir, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/LOCKBOX_MASTER_KEY.*--existing-key/);
    expect(existsSync(join(dir, 'b.db'))).toBe(false);
    const init = await runCli(['init', '--existing-key'], { cwd: dir, env });
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/the configured key, from LOCKBOX_MASTER_KEY/);
    expect((await runCli(['status'], { cwd: dir, env })).code).toBe(0);
  });
});

describe('commands before init', SPAWNING, () => {
  it('refuse a missing SQLite store with exit 4 and create no file', async () => {
    const dir = workdir();
    for (const args of [['get', 'a', 'b'], ['list'], ['status'], ['rm', 'a', 'b']]) {
      const result = await runCli(args, { cwd: dir });
      expect(result.code, args.join(' ')).toBe(4);
      expect(result.stderr).toMatch(/^error \[STORE_NOT_INITIALIZED\].*lockbox init/);
    }
    const set = await runCli(['set', 'a', 'b'], { cwd: dir, input: 'v' });
    expect(set.code).toBe(4);
    expect(existsSync(join(dir, 'lockbox.db'))).toBe(false);
  });
});

describe('a wrong master key', SPAWNING, () => {
  it('is refused with exit 3, naming the fingerprint the store needs, and changes nothing', async () => {
    const dir = workdir();
    await runCli(['init'], { cwd: dir });
    await runCli(['set', 's', 'n'], { cwd: dir, input: 'v' });
    const needed = JSON.parse((await runCli(['status', '--json'], { cwd: dir })).stdout).keys
      .primary as string;
    const before = readFileSync(join(dir, 'lockbox.db'));
    const wrong = Buffer.alloc(32, 7).toString('base64');
    for (const args of [['status'], ['get', 's', 'n'], ['list'], ['set', 's', 'n']]) {
      const result = await runCli(args, {
        cwd: dir,
        env: { LOCKBOX_MASTER_KEY: wrong },
        input: 'overwrite',
      });
      expect(result.code, args.join(' ')).toBe(3);
      expect(result.stderr).toMatch(/^error \[KEY_WRONG\]/);
      expect(result.stderr).toContain(needed);
      expect(result.stderr).not.toContain(wrong);
    }
    expect(readFileSync(join(dir, 'lockbox.db'))).toEqual(before);
  });

  it('in a key file with loose permissions is refused (exit 2)', async () => {
    const dir = workdir();
    await runCli(['init', '--key-file', 'k'], { cwd: dir });
    chmodSync(join(dir, 'k'), 0o644);
    const result = await runCli(['status', '--master-key-file', 'k'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error \[KEY_FILE_INSECURE\].*chmod 600/);
  });
});
