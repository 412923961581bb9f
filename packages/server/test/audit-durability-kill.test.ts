/**
 * The audited read's durability promise under a crash: a server process killed
 * with SIGKILL while it answers audited reads from 16 connections leaves an
 * audit entry for every read it answered (the entry is committed before the
 * value is sent), and the chain verifies. Both dialects; the server runs the
 * built packages in its own process (fixtures/serve-audited.mjs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { generateMasterKey, Keyring, openLockbox } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/serve-audited.mjs', import.meta.url));
const CONNECTIONS = 16;
/** Answered reads before the kill: enough that many batches were committed and more were in flight. */
const ANSWERED_BEFORE_KILL = 300;
const VALUE = 'durable-canary-value';

/** Starts the server process; resolves with its port once it listens. */
function serve(url: string, key: Buffer): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, url, key.toString('hex')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        resolve({ child, port: (JSON.parse(line) as { port: number }).port });
      }
    });
    child.once('exit', (code) => reject(new Error(`the server exited early (${code})`)));
  });
}

/** One GET; true only for a 200 whose whole body carries the value. */
function read(agent: Agent, port: number, token: string, id: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/secrets/prod/db',
        agent,
        headers: { authorization: `Bearer ${token}`, 'x-request-id': id },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(res.statusCode === 200 && body.includes(VALUE)));
        res.on('error', () => resolve(false));
      },
    );
    req.on('error', () => resolve(false));
    req.end();
  });
}

describe.each(DIALECTS)('audited reads survive kill -9 of the server on %s', (dialect) => {
  let database: TestDatabase;
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    child = undefined;
    await database?.drop();
  });

  it('has an entry for every read it answered, and the chain verifies', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const open = () =>
      openLockbox({
        database: database.url,
        drivers,
        keyring: Keyring.fromBytes(key),
        audit: true,
      });
    const setup = await open();
    await setup.secrets.set('prod', 'db', VALUE);
    const { token } = await setup.tokens.create({
      name: 'reader',
      permissions: ['secrets:read:prod'],
    });
    await setup.close();

    const server = await serve(database.url, key);
    child = server.child;
    const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const answered: string[] = [];
    let killed = false;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, c) => {
        for (let i = 0; !killed; i++) {
          const id = `kill-${c}-${i}`;
          // A request cut by the kill may or may not have been logged: only answered ones count.
          if (await read(agent, server.port, token, id)) answered.push(id);
          if (!killed && answered.length >= ANSWERED_BEFORE_KILL) {
            killed = true;
            server.child.kill('SIGKILL');
          }
        }
      }),
    );
    await exited;
    agent.destroy();
    expect(server.child.signalCode).toBe('SIGKILL');
    expect(answered.length).toBeGreaterThanOrEqual(ANSWERED_BEFORE_KILL);

    const after = await open();
    try {
      const logged = new Set<string>();
      for (let cursor = 0; ; ) {
        const page = await after.audit.list({ after: cursor, limit: 1000, action: 'secret.read' });
        if (page.length === 0) break;
        for (const entry of page) {
          if (entry.outcome === 'ok' && entry.requestId !== null) logged.add(entry.requestId);
        }
        cursor = page[page.length - 1]!.seq;
      }
      const missing = answered.filter((id) => !logged.has(id));
      expect(missing).toEqual([]);
      expect(await after.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await after.close();
    }
  });
});
