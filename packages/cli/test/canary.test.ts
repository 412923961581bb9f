/**
 * Canary: secrets with recognisable values go in through the CLI, then every
 * command's stdout and stderr — text and --json, success and error paths — is
 * scanned. Only the explicit `get` and `env` may print a value.
 */

import { DIALECTS } from '@lockbox/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

const CANARIES = {
  'stdin-token': 'CANARY-4b7e1d-stdin',
  'arg-token': 'CANARY-9c2f3a-argument',
  'multi-line': 'CANARY-line-one\nCANARY-line-two',
};

function expectNoCanary(result: CliResult, what: string): void {
  for (const value of Object.values(CANARIES)) {
    for (const piece of value.split('\n')) {
      expect(result.stdout, `${what} stdout`).not.toContain(piece);
      expect(result.stderr, `${what} stderr`).not.toContain(piece);
    }
  }
}

describe.each(DIALECTS)('canary values through the CLI on %s', SPAWNING, (dialect) => {
  let store: CliStore;
  beforeAll(async () => {
    store = await initialisedStore(dialect);
    const results = [
      await store.run(['set', 'canary', 'stdin-token'], { input: CANARIES['stdin-token'] }),
      await store.run(['set', 'canary', 'arg-token', '--value-in-argv', CANARIES['arg-token']]),
      await store.run(['set', 'canary', 'multi-line', '--json'], { input: CANARIES['multi-line'] }),
    ];
    for (const result of results) {
      expect(result.code).toBe(0);
      expectNoCanary(result, 'set');
    }
  });
  afterAll(async () => {
    await store.drop();
  });

  it('appear in no status, list or error output, text or --json', async () => {
    const commands = [
      ['status'],
      ['status', '--json'],
      ['list'],
      ['list', '--json'],
      ['list', '--verify', '--json'],
      ['get', 'canary', 'missing'],
      ['get', 'canary', 'missing', '--json'],
      ['set', 'canary', 'stdin-token', '--if-version', '7', '--json'],
      ['run', '--scope', 'canary', '--', 'no-such-command-canary'],
      ['env', '--scope', 'canary', '--output', 'out.env'],
      ['rm', 'canary', 'missing', '--json'],
    ];
    // Independent commands run side by side; the two env --output runs stay in
    // order (the second is the refused overwrite).
    const results = await Promise.all(
      commands.map(async (args) => ({
        args,
        result: await store.run(args, { input: 'CANARY-not-stored-either' }),
      })),
    );
    const second = await store.run(['env', '--scope', 'canary', '--output', 'out.env']);
    expect(second.code).toBe(5);
    for (const { args, result } of [...results, { args: ['env (again)'], result: second }]) {
      expectNoCanary(result, args.join(' '));
    }
  });

  it('do not leak through errors under a wrong key', async () => {
    const wrong = { LOCKBOX_MASTER_KEY: Buffer.alloc(32, 1).toString('hex') };
    for (const args of [
      ['get', 'canary', 'stdin-token'],
      ['env', '--scope', 'canary'],
      ['status', '--json'],
    ]) {
      const result = await store.run(args, { env: wrong });
      expect(result.code).toBe(3);
      expectNoCanary(result, args.join(' '));
    }
  });

  it('are masked in run --mask output and absent from the audit log', async () => {
    const run = await store.run([
      'run',
      '--scope',
      'canary',
      '--mask',
      '--',
      'sh',
      '-c',
      'printf "%s %s" "$STDIN_TOKEN" "$ARG_TOKEN"; printf "%s" "$MULTI_LINE" >&2',
    ]);
    expect(run.code).toBe(0);
    expectNoCanary(run, 'run --mask');
    const audit = await store.withLibrary((lockbox) => lockbox.audit.list({ limit: 1000 }));
    expect(audit.length).toBeGreaterThan(0);
    expectNoCanary({ code: 0, signal: null, stdout: JSON.stringify(audit), stderr: '' }, 'audit');
  });

  it('are printed by the explicit get and env only', async () => {
    expect((await store.run(['get', 'canary', 'stdin-token'])).stdout).toBe(
      `${CANARIES['stdin-token']}\n`,
    );
    const env = await store.run(['env', '--scope', 'canary', '--format', 'json']);
    expect(JSON.parse(env.stdout)).toEqual({
      STDIN_TOKEN: CANARIES['stdin-token'],
      ARG_TOKEN: CANARIES['arg-token'],
      MULTI_LINE: CANARIES['multi-line'],
    });
  });
});
