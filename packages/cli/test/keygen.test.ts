/**
 * `lockbox keygen`: a 0600 key file that the key providers read back, with its
 * fingerprint printed; never replacing a file without --force; the key on stdout
 * only with `--output -` (and then on disk nowhere).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprint, masterKeyFromFile, parseMasterKey } from '@lockbox/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SPAWNING, tempDir } from './helpers/cli.js';

describe('lockbox keygen', SPAWNING, () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterAll(() => cleanup());
  const run = (args: string[]) => runCli(args, { cwd: dir });

  it('writes a 0600 key file, prints its fingerprint, and never replaces it without --force', async () => {
    const made = await run(['keygen', '--output', 'new.key', '--json']);
    expect(made.code, made.stderr).toBe(0);
    const result = JSON.parse(made.stdout) as { fingerprint: string; file: string };
    const file = join(dir, 'new.key');
    expect(result.file).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = await masterKeyFromFile(file);
    expect(key).toHaveLength(32);
    expect(fingerprint(key)).toBe(result.fingerprint);
    // The key is not in the output, only its fingerprint.
    expect(made.stdout + made.stderr).not.toContain(readFileSync(file, 'utf8').trim());

    const before = readFileSync(file, 'utf8');
    const refused = await run(['keygen', '--output', 'new.key']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/^error \[KEY_FILE_EXISTS\]/);
    expect(readFileSync(file, 'utf8')).toBe(before);

    const forced = await run(['keygen', '--output', 'new.key', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toBe(before);
    expect(forced.stdout).toContain(`Fingerprint: ${fingerprint(await masterKeyFromFile(file))}`);
  });

  it('prints the key to stdout with --output -, and writes no file', async () => {
    const files = readdirSync(dir);
    const printed = await run(['keygen', '--output', '-']);
    expect(printed.code, printed.stderr).toBe(0);
    const key = parseMasterKey(printed.stdout, 'stdout');
    expect(printed.stderr).toContain(`master key fingerprint ${fingerprint(key)}`);
    expect(readdirSync(dir)).toEqual(files);
  });
});
