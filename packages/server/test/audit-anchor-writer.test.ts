/**
 * The server's audit anchors: one written to the log and to the anchor file, the
 * file 0600 and replaced whole, each anchor accepted by `verify({ anchor })`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAnchor } from '@lockbox/core';
import { AuditAnchorWriter } from '@lockbox/server';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from './helpers/test-server.js';

describe('audit anchors from the server', () => {
  let server: TestServer;
  let dir: string | undefined;

  afterEach(async () => {
    await server?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('writes each anchor to the log and replaces the 0600 anchor file', async () => {
    server = await startTestServer('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'lockbox-anchor-'));
    const file = join(dir, 'audit.anchor');
    const writer = new AuditAnchorWriter(() => server.lockbox, server.app.log, { file });
    await writer.writeOnce();
    expect(readdirSync(dir)).toEqual([]); // an empty log writes no anchor

    await server.lockbox.secrets.set('prod', 'api-key', 'canary-anchor-3e1f');
    await writer.writeOnce();
    const first = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await server.lockbox.secrets.get('prod', 'api-key');
    await writer.writeOnce();
    const second = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(second).not.toBe(first);
    expect(readdirSync(dir)).toEqual(['audit.anchor']); // no temporary file left behind
    for (const text of [first, second]) {
      expect(await server.lockbox.audit.verify({ anchor: text })).toMatchObject({ ok: true });
    }
    const logged = server.logs
      .records()
      .flatMap((r) => (typeof r.auditAnchor === 'string' ? [r.auditAnchor] : []));
    expect(logged).toEqual([first.trim(), second.trim()]);
    expect(JSON.stringify(server.logs.records())).not.toContain('canary-anchor-3e1f');
  });

  it('verifies against an anchor over HTTP, and refuses an edited one (400 AUDIT_ANCHOR_INVALID)', async () => {
    server = await startTestServer('sqlite');
    const reader = await server.token(['audit:read']);
    const anchor = await server.lockbox.audit.anchor();
    if (anchor === null) throw new Error('token.create was audited: the log is not empty');
    const text = formatAnchor(anchor);
    const verify = (anchorText: string) =>
      server.app.inject({
        method: 'GET',
        url: `/v1/audit/verify?anchor=${encodeURIComponent(anchorText)}`,
        headers: bearer(reader),
      });
    const ok = await verify(text);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true });
    // One hex digit of the MAC changed.
    const refused = await verify(`${text.slice(0, -1)}${text.endsWith('0') ? '1' : '0'}`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe('AUDIT_ANCHOR_INVALID');
  });
});
