import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

/** Values that break naive quoting in one format or another. */
const HARD_VALUES: Record<string, string> = {
  'single-quote': "it's",
  'double-quote': 'say "hi"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${…} is the point of this value
  dollar: '$HOME ${PATH} $(touch pwned) `touch pwned`',
  backslashes: 'a\\b\\\\c\\',
  'backslash-quote': "\\'",
  'escaped-n': 'not\\na newline',
  newlines: 'line1\nline2\n',
  'cr-tab': 'a\r\tb',
  spaces: '  padded  ',
  hash: 'x #not a comment',
  equals: 'a=b==',
  unicode: 'ключ 🔑 キー',
  empty: '',
};

/** The variable each HARD_VALUES name becomes. */
const variable = (name: string) => name.toUpperCase().replaceAll('-', '_');

/**
 * A decoder for the dotenv grammar docs/cli.md specifies: NAME='…' where \\ is a
 * backslash and \' a quote, everything else literal (newlines included).
 */
function decodeDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const line = /^([A-Z_][A-Z0-9_]*)='((?:\\[\\']|[^\\'])*)'\n/;
  let rest = text;
  while (rest.length > 0) {
    const match = line.exec(rest);
    if (match === null)
      throw new Error(`not the documented dotenv grammar at: ${rest.slice(0, 40)}`);
    out[match[1] as string] = (match[2] as string).replace(/\\([\\'])/g, '$1');
    rest = rest.slice(match[0].length);
  }
  return out;
}

describe('lockbox env', SPAWNING, () => {
  let store: CliStore;
  const expected: Record<string, string> = {};
  beforeAll(async () => {
    store = await initialisedStore('sqlite');
    await store.withLibrary(async (lockbox) => {
      for (const [name, value] of Object.entries(HARD_VALUES)) {
        await lockbox.secrets.set('hard', name, value);
        expected[variable(name)] = value;
      }
      await lockbox.secrets.set('small', 'api-key', 'sk-small');
    });
  });
  afterAll(async () => {
    await store.drop();
  });

  it('shell output, sourced by bash, gives back every value exactly', async () => {
    const result = await store.run(['env', '--scope', 'hard', '--format', 'shell']);
    expect(result.code).toBe(0);
    const file = join(store.dir, 'vars.sh');
    writeFileSync(file, result.stdout);
    const names = Object.keys(expected);
    // Print each variable NUL-terminated, so newlines and empty values survive.
    const script = `set -eu; . "$1"; shift; for v in "$@"; do printf '%s\\0' "\${!v}"; done`;
    const out = execFileSync('bash', ['-c', script, 'bash', file, ...names], {
      cwd: store.dir,
      env: { PATH: process.env.PATH ?? '' },
    }).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(names.map((n) => expected[n]));
    // Nothing in the values was executed.
    expect(() => statSync(join(store.dir, 'pwned'))).toThrow();
  });

  it('dotenv output follows the documented grammar for every value', async () => {
    const result = await store.run(['env', '--scope', 'hard']);
    expect(result.code).toBe(0);
    expect(decodeDotenv(result.stdout)).toEqual(expected);
  });

  it('dotenv writes values without a quote or backslash as plain single-quoted literals', async () => {
    // Every common dotenv dialect reads NAME='…' literally, so these are exact everywhere.
    const result = await store.run(['env', '--scope', 'hard', '--only', 'dollar', 'newlines']);
    expect(result.stdout).toBe(
      `DOLLAR='${HARD_VALUES.dollar}'\nNEWLINES='${HARD_VALUES.newlines}'\n`,
    );
  });

  it('json output is one object of name to value (also chosen by --json)', async () => {
    const explicit = await store.run(['env', '--scope', 'hard', '--format', 'json']);
    expect(JSON.parse(explicit.stdout)).toEqual(expected);
    const implied = await store.run(['env', '--scope', 'small', '--json']);
    expect(JSON.parse(implied.stdout)).toEqual({ API_KEY: 'sk-small' });
  });

  it('--output writes a 0600 file, refuses to overwrite it, and replaces it with --force', async () => {
    const first = await store.run(['env', '--scope', 'small', '--output', 'small.env']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    const file = join(store.dir, 'small.env');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe("API_KEY='sk-small'\n");
    const again = await store.run([
      'env',
      '--scope',
      'small',
      '--output',
      'small.env',
      '--format',
      'json',
    ]);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^error \[FILE_EXISTS\].*--force/);
    expect(readFileSync(file, 'utf8')).toBe("API_KEY='sk-small'\n");
    const forced = await store.run([
      'env',
      '--scope',
      'small',
      '--output',
      'small.env',
      '--format',
      'json',
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ API_KEY: 'sk-small' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses an unknown format with exit 2', async () => {
    const result = await store.run(['env', '--scope', 'small', '--format', 'yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: unknown format "yaml"/);
  });
});
