/**
 * `lockbox serve` as a spawned process (packages/cli/dist/main.js; `npm test`
 * builds it first): it serves, logs JSON lines without credentials, shuts down
 * on SIGTERM with exit code 0, refuses to stay up with a wrong key — and two
 * instances on one PostgreSQL serve the same secrets and see each other's
 * rotations.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DialectName,
  fingerprint,
  formatMasterKey,
  generateMasterKey,
  Keyring,
  openLockbox,
  writeMasterKeyFile,
} from '@lockbox/core';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, CLI_MAIN } from './helpers/cli.js';

interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function spawnServe(database: string, env: Record<string, string>, cwd?: string): Served {
  const child = spawn(
    process.execPath,
    [CLI_MAIN, 'serve', '--port', '0', '--database', database, '--console-dir', '/nonexistent'],
    {
      ...(cwd === undefined ? {} : { cwd }),
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    url: '',
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
  };
}

async function started(served: Served): Promise<Served> {
  for (let i = 0; i < 1500; i++) {
    const match = /serving on (https?:\/\/\S+)/.exec(served.stderr());
    if (match?.[1] !== undefined) return { ...served, url: match[1] };
    if (served.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`lockbox serve did not start: ${served.stderr()}`);
}

async function call(
  url: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('lockbox serve', { timeout: 180_000 }, () => {
  let database: TestDatabase | undefined;
  const processes: Served[] = [];

  afterEach(async () => {
    for (const served of processes.splice(0)) {
      if (served.child.exitCode === null) served.child.kill('SIGKILL');
      await served.exited;
    }
    await database?.drop();
    database = undefined;
  });

  async function store(dialect: DialectName, key: Buffer) {
    database = await freshDatabase(dialect);
    const lockbox = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(key),
      mode: 'create',
    });
    const admin = await lockbox.tokens.create({
      name: 'ops',
      permissions: ['admin', 'keys:rotate'],
    });
    await lockbox.close();
    return { url: database.url, token: admin.token };
  }

  it('serves the API, logs without credentials, and exits 0 on SIGTERM', async () => {
    const key = generateMasterKey();
    const { url, token } = await store('sqlite', key);
    const served = await started(spawnServe(url, { LOCKBOX_MASTER_KEY: formatMasterKey(key) }));
    processes.push(served);
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await call(served.url, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    const put = await call(served.url, '/v1/secrets/prod/db', {
      method: 'PUT',
      token,
      body: { value: 'served-canary' },
    });
    expect(put.status).toBe(200);
    const get = await call(served.url, '/v1/secrets/prod/db', { token });
    expect(get.body.value).toBe('served-canary');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    const lines = served
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.some((l) => l.msg === 'shutting down')).toBe(true);
    expect(
      lines.filter((l) => l.msg === 'incoming request').every((l) => l.reqId !== undefined),
    ).toBe(true);
    const output = served.stdout() + served.stderr();
    expect(output).not.toContain(token);
    expect(output).not.toContain('served-canary');
    expect(output).not.toContain(formatMasterKey(key));
  });

  it('refuses to keep serving when the configured key opens nothing (exit 3, KEY_WRONG)', async () => {
    const key = generateMasterKey();
    const { url } = await store('sqlite', key);
    const lockbox = await openLockbox({ database: url, drivers, keyring: Keyring.fromBytes(key) });
    await lockbox.secrets.set('prod', 'db', 'pw');
    await lockbox.close();
    const served = spawnServe(url, { LOCKBOX_MASTER_KEY: formatMasterKey(generateMasterKey()) });
    processes.push(served);
    expect(await served.exited).toBe(3);
    expect(served.stderr()).toContain('KEY_WRONG');
    // The keys are checked before anything listens.
    expect(served.stdout()).not.toContain('Server listening');
  });

  it('runs two instances on one PostgreSQL that share secrets and see a rotation made on the other', async () => {
    const oldKey = generateMasterKey();
    const newKey = generateMasterKey();
    const { url, token } = await store('postgres', oldKey);
    // The operator's rollout: every instance gets the new key as a previous key first.
    const env = {
      LOCKBOX_MASTER_KEY: formatMasterKey(oldKey),
      LOCKBOX_PREVIOUS_KEYS: formatMasterKey(newKey),
    };
    const [a, b] = await Promise.all([
      started(spawnServe(url, env)),
      started(spawnServe(url, env)),
    ]);
    processes.push(a, b);
    expect(a.url).not.toBe(b.url);
    await call(a.url, '/v1/secrets/tenant%3A1/api', {
      method: 'PUT',
      token,
      body: { value: 'shared-1' },
    });
    expect((await call(b.url, '/v1/secrets/tenant%3A1/api', { token })).body.value).toBe(
      'shared-1',
    );

    const rotated = await call(a.url, '/v1/rotation/master', {
      method: 'POST',
      token,
      body: { oldKey: formatMasterKey(oldKey), newKey: formatMasterKey(newKey) },
    });
    expect(rotated.status).toBe(200);
    // Keys from the environment: the configuration is the operator's to change.
    expect(rotated.body).toMatchObject({
      to: fingerprint(newKey),
      oldKeyRetired: true,
      keyFileUpdated: false,
    });

    const status = await call(b.url, '/v1/rotation', { token });
    expect(status.body).toMatchObject({
      recent: [{ kind: 'master', state: 'done', to: fingerprint(newKey) }],
    });
    const keys = await call(b.url, '/v1/keys', { token });
    expect(keys.body).toMatchObject({
      needed: [{ fingerprint: fingerprint(newKey), inKeyring: true }],
    });
    // b's primary is now retired: it refuses to make a data key under it (it must
    // be restarted with the new key as primary), while a, rotated, writes.
    const refused = await call(b.url, '/v1/secrets/tenant%3A2/api', {
      method: 'PUT',
      token,
      body: { value: 'shared-2' },
    });
    expect(refused.body).toMatchObject({ error: { code: 'MASTER_KEY_RETIRED' } });
    const put2 = await call(a.url, '/v1/secrets/tenant%3A2/api', {
      method: 'PUT',
      token,
      body: { value: 'shared-2' },
    });
    expect(put2.status, JSON.stringify(put2.body)).toBe(200);
    const read2 = await call(b.url, '/v1/secrets/tenant%3A2/api', { token });
    expect(read2.body.value, JSON.stringify(read2.body)).toBe('shared-2');
    expect((await call(b.url, '/v1/secrets/tenant%3A1/api', { token })).body.value).toBe(
      'shared-1',
    );
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  });

  it('after a rotation over HTTP, the default key file holds the new key and a restart opens the store', async () => {
    const oldKey = generateMasterKey();
    const newKey = generateMasterKey();
    const { url, token } = await store('sqlite', oldKey);
    const dir = mkdtempSync(join(tmpdir(), 'lockbox-serve-'));
    try {
      await writeMasterKeyFile(join(dir, 'lockbox.key'), oldKey);
      const first = await started(spawnServe(url, {}, dir));
      processes.push(first);
      await call(first.url, '/v1/secrets/prod/db', {
        method: 'PUT',
        token,
        body: { value: 'pw-1' },
      });
      const rotated = await call(first.url, '/v1/rotation/master', {
        method: 'POST',
        token,
        body: { oldKey: formatMasterKey(oldKey), newKey: formatMasterKey(newKey) },
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body).toMatchObject({ to: fingerprint(newKey), keyFileUpdated: true });
      const fileKey = (name: string) =>
        Buffer.from(readFileSync(join(dir, name), 'utf8').trim(), 'base64');
      expect(fileKey('lockbox.key').equals(newKey)).toBe(true);
      expect(fileKey('lockbox.key.previous').equals(oldKey)).toBe(true);
      expect(existsSync(join(dir, 'lockbox.key.next'))).toBe(false);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(first.stdout()).not.toContain(formatMasterKey(newKey));

      // The next start, same configuration, no flag: the key check passes.
      const second = await started(spawnServe(url, {}, dir));
      processes.push(second);
      expect((await call(second.url, '/v1/secrets/prod/db', { token })).body.value).toBe('pw-1');
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
