import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_MAIN,
  type CliStore,
  finished,
  initialisedStore,
  runCli,
  SPAWNING,
  startCli,
  tempDir,
} from './helpers/cli.js';

const NODE = process.execPath;
const API_KEY = 'sk-run-4f1c9a7e2b';
const DB_PASSWORD = 'pa$$ "word"\nline2';
const TASK_43_CANARY = 'canary-task-43-9d2e51';

/** Runs `node -e script` under `lockbox run` with the given lockbox flags. */
function runNode(
  store: CliStore,
  flags: string[],
  script: string,
  env: Record<string, string> = {},
) {
  return store.run(['run', ...flags, '--', NODE, '-e', script], { env });
}

describe('lockbox run', SPAWNING, () => {
  let store: CliStore;
  beforeAll(async () => {
    store = await initialisedStore('sqlite');
    await store.withLibrary(async (lockbox) => {
      await lockbox.secrets.set('app', 'openai-api-key', API_KEY);
      await lockbox.secrets.set('app', 'db.password', DB_PASSWORD);
      await lockbox.secrets.set('other', 'dbPassword', 'other-pw');
      await lockbox.secrets.set('other', 'region', 'eu-west-1');
      await lockbox.secrets.set('badname', '1password', 'x');
      await lockbox.secrets.set('task:42', 'token', 'task-42-token');
      await lockbox.secrets.set('task:43', 'token', TASK_43_CANARY);
    });
  });
  afterAll(async () => {
    await store.drop();
  });

  it('starts the child with the scope secrets as SCREAMING_SNAKE_CASE variables', async () => {
    const result = await runNode(
      store,
      ['--scope', 'app'],
      'process.stdout.write(JSON.stringify({a: process.env.OPENAI_API_KEY, d: process.env.DB_PASSWORD, k: process.env.LOCKBOX_MASTER_KEY ?? null}))',
      { LOCKBOX_MASTER_KEY: readFileSync(join(store.dir, 'lockbox.key'), 'utf8').trim() },
    );
    expect(result.code).toBe(0);
    // The child gets the scope's secrets, never the master key.
    expect(JSON.parse(result.stdout)).toEqual({ a: API_KEY, d: DB_PASSWORD, k: null });
  });

  it('injects several scopes and only the names asked for', async () => {
    const result = await runNode(
      store,
      ['--scope', 'app', '--scope', 'other', '--only', 'openai-api-key', 'region'],
      'process.stdout.write(JSON.stringify([process.env.OPENAI_API_KEY, process.env.REGION, process.env.DB_PASSWORD ?? null]))',
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([API_KEY, 'eu-west-1', null]);
  });

  it('passes exit codes 0 and 3 through', async () => {
    expect((await runNode(store, ['--scope', 'app'], 'process.exit(0)')).code).toBe(0);
    const three = await runNode(store, ['--scope', 'app'], 'process.exit(3)');
    expect(three.code).toBe(3);
    expect(three.stderr).toBe('');
  });

  it('exits 128 + signal number when a signal kills the child, and says so', async () => {
    const result = await runNode(store, ['--scope', 'app'], "process.kill(process.pid, 'SIGKILL')");
    expect(result.code).toBe(137);
    expect(result.stderr).toMatch(/killed by SIGKILL; exiting with 137/);
  });

  it('forwards SIGTERM to the child, which handles it', async () => {
    const marker = join(store.dir, 'sigterm-marker');
    const child = startCli(
      [
        'run',
        '--scope',
        'app',
        '--',
        'bash',
        '-c',
        `trap 'echo "got TERM" > "${marker}"; exit 0' TERM; echo ready; while true; do sleep 0.05; done`,
      ],
      { cwd: store.dir, env: store.env },
    );
    const done = finished(child);
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
    });
    // Only lockbox gets the signal; the child can only learn of it by forwarding.
    child.kill('SIGTERM');
    const result = await done;
    expect(readFileSync(marker, 'utf8')).toBe('got TERM\n');
    expect(result.code).toBe(0);
  });

  it('--mask replaces values in stdout and stderr, even split across two writes', async () => {
    const script = `
      const key = process.env.OPENAI_API_KEY;
      process.stdout.write('key=' + key.slice(0, 6));
      setTimeout(() => {
        process.stdout.write(key.slice(6) + ' end\\n');
        process.stderr.write('pw=' + process.env.DB_PASSWORD + '\\n');
      }, 150);`;
    const masked = await runNode(store, ['--scope', 'app', '--mask'], script);
    expect(masked.code).toBe(0);
    expect(masked.stdout).toBe('key=<redacted:OPENAI_API_KEY> end\n');
    expect(masked.stderr).toBe('pw=<redacted:DB_PASSWORD>\n');
    const plain = await runNode(store, ['--scope', 'app'], script);
    expect(plain.stdout).toBe(`key=${API_KEY} end\n`);
  });

  it('refuses a collision between scopes before the child starts, naming both sources', async () => {
    const marker = join(store.dir, 'collision-marker');
    const result = await runNode(
      store,
      ['--scope', 'app', '--scope', 'other'],
      `require('fs').writeFileSync(${JSON.stringify(marker)}, 'started')`,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error \[ENV_COLLISION\]: app\/db\.password and other\/dbPassword both map to DB_PASSWORD/,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses to replace an existing variable unless --override', async () => {
    const marker = join(store.dir, 'override-marker');
    const script = `require('fs').writeFileSync(${JSON.stringify(marker)}, process.env.REGION)`;
    const refused = await runNode(store, ['--scope', 'other', '--only', 'region'], script, {
      REGION: 'us-east-1',
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^error \[ENV_COLLISION\]: other\/region maps to REGION, which is already set/,
    );
    expect(existsSync(marker)).toBe(false);
    const overridden = await runNode(
      store,
      ['--scope', 'other', '--only', 'region', '--override'],
      script,
      { REGION: 'us-east-1' },
    );
    expect(overridden.code).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('eu-west-1');
  });

  it('refuses names that cannot become variables, and unknown scopes, before the child starts', async () => {
    const marker = join(store.dir, 'badname-marker');
    const script = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'started')`;
    const bad = await runNode(store, ['--scope', 'badname'], script);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error \[ENV_NAME_INVALID\]: secret name "1password"/);
    const empty = await runNode(store, ['--scope', 'nosuchscope'], script);
    expect(empty.code).toBe(4);
    expect(empty.stderr).toMatch(/^error \[SECRET_NOT_FOUND\]: scope "nosuchscope" has no secrets/);
    const missing = await runNode(store, ['--scope', 'app', '--only', 'nope'], script);
    expect(missing.code).toBe(4);
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a command that does not exist with exit 127', async () => {
    const result = await store.run(['run', '--scope', 'app', '--', 'no-such-command-lockbox']);
    expect(result.code).toBe(127);
    expect(result.stderr).toMatch(/command not found/);
  });

  it('audits each injection with scope and names, never values', async () => {
    await runNode(
      store,
      ['--scope', 'app', '--scope', 'other', '--only', 'openai-api-key', 'region'],
      '0',
    );
    const entries = await store.withLibrary((lockbox) => lockbox.audit.list({ limit: 1000 }));
    const injections = entries.filter((e) => e.action === 'env.inject');
    expect(injections.length).toBeGreaterThan(0);
    const last = injections.slice(-2);
    expect(last.map((e) => [e.scope, e.details?.names])).toEqual([
      ['app', ['openai-api-key']],
      ['other', ['region']],
    ]);
    expect(last[0]?.actorId).toMatch(/^cli:/);
    const everything = JSON.stringify(entries);
    for (const value of [
      API_KEY,
      'eu-west-1',
      'other-pw',
      JSON.stringify(DB_PASSWORD).slice(1, -1),
    ]) {
      expect(everything).not.toContain(value);
    }
  });

  it('hands the child nothing of Lockbox: no LOCKBOX_ variable, and `lockbox get` of another scope fails', async () => {
    // The store is configured only through the environment, from outside the
    // child's working directory: the key file, the database and a config file.
    const elsewhere = tempDir();
    const work = tempDir();
    try {
      const keyFile = join(elsewhere.dir, 'master.key');
      copyFileSync(join(store.dir, 'lockbox.key'), keyFile);
      const configFile = join(elsewhere.dir, 'lockbox.json');
      writeFileSync(configFile, JSON.stringify({ database: store.db.url }), { mode: 0o600 });
      const parentEnv = {
        LOCKBOX_DATABASE: store.db.url,
        LOCKBOX_MASTER_KEY_FILE: keyFile,
        LOCKBOX_CONFIG: configFile,
        LOCKBOX_DEBUG: '1',
      };
      // The child tries the other scope with what it inherited, then (the
      // control, proving the attempt can succeed) with the parent's settings.
      const script = `
        const { spawnSync } = require('node:child_process');
        const get = (env) => spawnSync(process.execPath, [${JSON.stringify(CLI_MAIN)}, 'get', 'task:43', 'token'], { env, encoding: 'utf8' });
        const inherited = get(process.env);
        const control = get({ ...process.env, ...${JSON.stringify(parentEnv)} });
        process.stdout.write(JSON.stringify({
          leaked: Object.keys(process.env).filter((k) => /^lockbox_/i.test(k)),
          own: process.env.TOKEN,
          inherited: { status: inherited.status, stdout: inherited.stdout, stderr: inherited.stderr },
          control: { status: control.status, stdout: control.stdout },
        }));`;
      const result = await runCli(['run', '--scope', 'task:42', '--', NODE, '-e', script], {
        cwd: work.dir,
        env: parentEnv,
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const seen = JSON.parse(result.stdout);
      expect(seen.leaked).toEqual([]);
      expect(seen.own).toBe('task-42-token');
      expect(seen.inherited.status).not.toBe(0);
      expect(seen.inherited.stdout).toBe('');
      expect(seen.inherited.stderr).not.toContain(TASK_43_CANARY);
      expect(seen.control).toEqual({ status: 0, stdout: `${TASK_43_CANARY}\n` });
    } finally {
      elsewhere.cleanup();
      work.cleanup();
    }
  });
});
