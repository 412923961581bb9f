/**
 * `lockbox run --server` and `lockbox env --server`: the spawned CLI against a
 * real listening server (HTTP and HTTPS), with a token and no master key on the
 * host. The child sees only its scope's variables and no LOCKBOX_ variable; a
 * token without `secrets:read` on the scope, an insecure token file and a
 * collision with the environment are refused before the child starts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AuditEntry,
  generateMasterKey,
  Keyring,
  type Lockbox,
  openLockbox,
} from '@lockbox/core';
import { type RunningServer, startServer } from '@lockbox/server';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SPAWNING, tempDir } from './helpers/cli.js';

const API_KEY = 'sk-remote-canary-81d2c4';
const NODE = process.execPath;

describe('lockbox run/env --server', SPAWNING, () => {
  let database: TestDatabase;
  let lockbox: Lockbox;
  let http: RunningServer;
  let https: RunningServer;
  let work: ReturnType<typeof tempDir>;
  let reader: string;
  let readerId: string;
  let caFile: string;

  beforeAll(async () => {
    database = await freshDatabase('sqlite');
    work = tempDir();
    const open = () =>
      openLockbox({
        database: database.url,
        drivers,
        keyring: Keyring.fromBytes(masterKey),
        audit: true,
      });
    const masterKey = generateMasterKey();
    lockbox = await open();
    await lockbox.secrets.set('prod', 'api-key', API_KEY);
    await lockbox.secrets.set('prod', 'region', 'eu-west-1');
    await lockbox.secrets.set('dev', 'dev-only', 'not-for-prod');
    const created = await lockbox.tokens.create({
      name: 'prod-reader',
      permissions: ['secrets:read:prod'],
    });
    reader = created.token;
    readerId = created.info.id;
    http = await startServer({ lockbox, port: 0, handleSignals: false, logger: false });
    caFile = join(work.dir, 'cert.pem');
    const keyFile = join(work.dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
        ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'],
        ...['-keyout', keyFile, '-out', caFile],
      ],
      { stdio: 'ignore' },
    );
    https = await startServer({
      lockbox: await open(),
      port: 0,
      handleSignals: false,
      logger: false,
      tls: { cert: readFileSync(caFile), key: readFileSync(keyFile) },
    });
  });

  afterAll(async () => {
    await http?.close();
    await https?.close();
    await database?.drop();
    work?.cleanup();
  });

  /** Runs the CLI with only the given environment (no master key, no database). */
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { cwd: work.dir, env });

  const lastAudit = async (): Promise<AuditEntry[]> =>
    (await lockbox.audit.list({ order: 'desc', limit: 3 })).reverse();

  it('gives the child only its scope, no LOCKBOX_ variable, and keeps --mask and exit codes', async () => {
    const seen = join(work.dir, 'seen.json');
    const store = join(work.dir, 'must-not-exist.db');
    const script = `require('fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify(process.env)); process.stdout.write(process.env.API_KEY); process.exit(7)`;
    const result = await cli(['run', '--scope', 'prod', '--mask', '--', NODE, '-e', script], {
      LOCKBOX_URL: http.url,
      LOCKBOX_TOKEN: reader,
      LOCKBOX_DATABASE: store,
    });
    expect(result.code, result.stderr).toBe(7);
    expect(result.stdout).toBe('<redacted:API_KEY>');
    const env = JSON.parse(readFileSync(seen, 'utf8')) as Record<string, string>;
    expect(env.API_KEY).toBe(API_KEY);
    expect(env.REGION).toBe('eu-west-1');
    expect(env.DEV_ONLY).toBeUndefined();
    expect(Object.keys(env).filter((name) => name.startsWith('LOCKBOX_'))).toEqual([]);
    expect(JSON.stringify(env)).not.toContain(reader);
    // The host never opened a store.
    expect(existsSync(store)).toBe(false);
    expect(await lastAudit()).toMatchObject([
      { action: 'secret.read', scope: 'prod', name: 'api-key', actorId: readerId },
      { action: 'secret.read', scope: 'prod', name: 'region', actorId: readerId },
      {
        action: 'env.inject',
        scope: 'prod',
        outcome: 'ok',
        actorId: readerId,
        details: { command: 'run', masked: true, via: 'server', names: ['api-key', 'region'] },
      },
    ]);
  });

  it('refuses a token without secrets:read on a scope before the child starts', async () => {
    const marker = join(work.dir, 'started');
    const result = await cli(
      [
        'run',
        '--scope',
        'prod',
        '--scope',
        'dev',
        '--',
        NODE,
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`,
      ],
      { LOCKBOX_TOKEN: reader, LOCKBOX_URL: http.url },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PERMISSION_DENIED');
    expect(result.stderr).toContain('"dev"');
    expect(existsSync(marker)).toBe(false);
    expect((await lastAudit()).at(-1)).toMatchObject({
      action: 'env.inject',
      scope: 'dev',
      outcome: 'denied',
      actorId: readerId,
    });
  });

  it('refuses a group-readable token file and a collision with the environment', async () => {
    const tokenFile = join(work.dir, 'token');
    writeFileSync(tokenFile, `${reader}\n`, { mode: 0o644 });
    chmodSync(tokenFile, 0o644);
    const insecure = await cli([
      'run',
      '--server',
      http.url,
      '--token-file',
      tokenFile,
      '--scope',
      'prod',
      '--',
      NODE,
      '-e',
      '',
    ]);
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toContain('KEY_FILE_INSECURE');
    expect(insecure.stderr).toContain('token file');
    chmodSync(tokenFile, 0o600);
    const collision = await cli(
      [
        'run',
        '--server',
        http.url,
        '--token-file',
        tokenFile,
        '--scope',
        'prod',
        '--',
        NODE,
        '-e',
        '',
      ],
      { REGION: 'already-set' },
    );
    expect(collision.code).toBe(2);
    expect(collision.stderr).toContain('ENV_COLLISION');
    expect(collision.stderr).not.toContain('eu-west-1');
  });

  it('prints variables from an https server verified with --ca-file, and refuses an unknown CA', async () => {
    const env = { LOCKBOX_TOKEN: reader };
    const printed = await cli(
      [
        'env',
        '--server',
        https.url,
        '--ca-file',
        caFile,
        '--scope',
        'prod',
        '--only',
        'region',
        '--format',
        'json',
      ],
      env,
    );
    expect(printed.code, printed.stderr).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual({ REGION: 'eu-west-1' });
    const untrusted = await cli(['env', '--server', https.url, '--scope', 'prod'], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain('SERVER_UNREACHABLE');
    expect(untrusted.stdout).toBe('');
  });
});
