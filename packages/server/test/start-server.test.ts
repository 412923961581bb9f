/**
 * startServer on a real socket: graceful shutdown lets a request in flight
 * finish, refuses new connections, then closes the lockbox; TLS from PEM files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMasterKey, Keyring, type Lockbox, openLockbox } from '@lockbox/core';
import { type RunningServer, startServer } from '@lockbox/server';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { LogCapture } from './helpers/test-server.js';

interface Reply {
  status: number;
  body: string;
}

function collect(
  resolve: (reply: Reply) => void,
): (res: import('node:http').IncomingMessage) => void {
  return (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      body += chunk;
    });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
  };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('startServer', () => {
  let database: TestDatabase;
  let running: RunningServer | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await running?.close();
    running = undefined;
    await database?.drop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function open(key: Buffer): Promise<Lockbox> {
    return openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(key),
      audit: true,
    });
  }

  it('finishes a request in flight on shutdown, refuses new connections, then closes the lockbox', async () => {
    database = await freshDatabase('sqlite');
    const key = generateMasterKey();
    const lockbox = await open(key);
    const token = (await lockbox.tokens.create({ name: 'w', permissions: ['secrets:write:*'] }))
      .token;
    const logs = new LogCapture();
    running = await startServer({
      lockbox,
      host: '127.0.0.1',
      port: 0,
      handleSignals: false,
      logger: { destination: logs },
    });
    const url = new URL(running.url);
    const body = JSON.stringify({ value: 'written-during-shutdown' });
    const reply = new Promise<Reply>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/v1/secrets/prod/slow',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        collect(resolve),
      );
      req.on('error', reject);
      // Half the body now: the request is in flight until the rest arrives.
      req.write(body.slice(0, 10));
      waitFor(() => logs.text.includes('incoming request'), 'the request to arrive')
        .then(async () => {
          const closing = running!.close();
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(running!.app.lockboxReadiness.state).toBe('closing');
          // A new connection is refused while the old request is still running.
          const refused = await new Promise<string>((done) => {
            const probe = httpRequest({ host: url.hostname, port: url.port, path: '/healthz' });
            probe.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
            probe.on('response', () => done('answered'));
            probe.end();
          });
          expect(refused).toBe('ECONNREFUSED');
          req.end(body.slice(10));
          await closing;
        })
        .catch(reject);
    });
    const answered = await reply;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toEqual({ scope: 'prod', name: 'slow', version: 1 });
    await running.closed;
    // The lockbox was closed by the shutdown; the write is in the store.
    await expect(lockbox.secrets.get('prod', 'slow')).rejects.toThrow();
    const reopened = await open(key);
    expect(await reopened.secrets.get('prod', 'slow')).toBe('written-during-shutdown');
    await reopened.close();
  });

  it('serves HTTPS from a PEM certificate and key', async () => {
    database = await freshDatabase('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'lockbox-tls-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(certFile);
    running = await startServer({
      lockbox: await open(generateMasterKey()),
      port: 0,
      handleSignals: false,
      logger: false,
      tls: { cert, key: readFileSync(keyFile) },
    });
    expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const url = new URL(running.url);
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = httpsRequest(
        { host: url.hostname, port: url.port, path: '/readyz', ca: cert, servername: 'localhost' },
        collect(resolve),
      );
      req.on('error', reject);
      req.end();
    });
    expect(reply).toEqual({ status: 200, body: '{"status":"ready"}' });
  });
});
