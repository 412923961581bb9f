import type { Lockbox } from '@lockbox/core';
import { DIALECTS } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliStore, finished, initialisedStore, openDirect, startCli } from './helpers/cli.js';

describe.each(DIALECTS)('lockbox audit on %s', (dialect) => {
  let store: CliStore;
  const handles: Lockbox[] = [];
  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.close();
    await store?.drop();
  });

  /** The same store, opened in-process (to tamper with it the way an attacker would). */
  async function direct(): Promise<Lockbox> {
    const lockbox = await openDirect(store);
    handles.push(lockbox);
    return lockbox;
  }

  it('verifies an intact log, audits CLI actions under the local user, and tails it', async () => {
    store = await initialisedStore(dialect);
    expect((await store.run(['set', 'prod', 'db-pass'], { input: 'hunter2-canary' })).code).toBe(0);
    expect((await store.run(['get', 'prod', 'db-pass'])).stdout.trim()).toBe('hunter2-canary');

    const verified = await store.run(['audit', 'verify']);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^audit log verified: 2 entries, head 2 [0-9a-f]{64}\n$/);

    const tail = await store.run(['audit', 'tail', '-n', '2']);
    expect(tail.code).toBe(0);
    const lines = tail.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^2 .* cli:\S+ {2}secret\.read {2}prod\/db-pass {2}ok$/);
    expect(lines[1]).toMatch(/^3 .* cli:\S+ {2}audit\.verify .* ok {2}\{"entries":2\}$/);

    const json = await store.run(['audit', 'tail', '--json']);
    const { entries } = JSON.parse(json.stdout) as { entries: { action: string }[] };
    expect(entries.map((e) => e.action)).toEqual(['secret.set', 'secret.read', 'audit.verify']);
    for (const out of [tail.stdout, json.stdout, verified.stdout]) {
      expect(out).not.toContain('hunter2-canary');
    }
  });

  it('fails with AUDIT_CHAIN_BROKEN naming the first broken entry after tampering', async () => {
    store = await initialisedStore(dialect);
    for (const name of ['a', 'b', 'c']) {
      expect((await store.run(['set', 'prod', name], { input: 'v' })).code).toBe(0);
    }
    const lockbox = await direct();
    await sql`update lockbox_audit set outcome = 'denied' where seq = 2`.execute(
      lockbox.vault.store.db,
    );
    const text = await store.run(['audit', 'verify']);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain('error [AUDIT_CHAIN_BROKEN]');
    expect(text.stderr).toContain('entry 2 (edited)');
    const json = await store.run(['audit', 'verify', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({
      error: { code: 'AUDIT_CHAIN_BROKEN', details: { firstBroken: 2, reason: 'edited' } },
    });
    // The failed verification is itself on the record.
    const [last] = await lockbox.audit.list({ order: 'desc', limit: 1 });
    expect(last).toMatchObject({ action: 'audit.verify', outcome: 'error' });
  });

  it('follows new entries until interrupted', async () => {
    store = await initialisedStore(dialect);
    const child = startCli(['audit', 'tail', '-f', '--interval', '50'], {
      cwd: store.dir,
      env: store.env,
    });
    const done = finished(child);
    let seen = '';
    child.stdout?.on('data', (d: Buffer | string) => {
      seen += d.toString();
    });
    expect((await store.run(['set', 'prod', 'later'], { input: 'v' })).code).toBe(0);
    const deadline = Date.now() + 20_000;
    while (!seen.includes('secret.set  prod/later') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGINT');
    const result = await done;
    expect(seen).toContain('secret.set  prod/later');
    expect(result.code).toBe(0);
  });

  it('refuses a bad line count as a usage error', async () => {
    store = await initialisedStore(dialect);
    const result = await store.run(['audit', 'tail', '-n', 'lots']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('INVALID_ARGUMENT');
  });
});
