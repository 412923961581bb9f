import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateMasterKey, Keyring, openLockbox } from '@lockbox/core';
import { DIALECTS, drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { lockAuditChain } from '../../src/audit/audit-chain.js';
import { type AuditTestKit, appendMany, auditTestKit, seqs } from './audit-test-kit.js';

const run = promisify(execFile);

describe('audit appends from several instances on postgres', () => {
  let kit: AuditTestKit;
  afterEach(async () => kit?.close());

  it('keeps one contiguous, verifiable chain when three handles append in parallel', async () => {
    kit = await auditTestKit('postgres');
    const handles = await Promise.all([kit.open(), kit.open(), kit.open()]);
    await Promise.all(
      handles.flatMap((handle, h) => [0, 1, 2, 3].map((w) => appendMany(handle, 10, `h${h}w${w}`))),
    );
    expect(await seqs(handles[0]!)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    for (const handle of handles) {
      expect(await handle.audit.verify()).toMatchObject({ ok: true, entries: 120 });
    }
  });
});

describe('the audit append lock on postgres', () => {
  const kits: AuditTestKit[] = [];
  afterEach(async () => {
    for (const kit of kits.splice(0)) await kit.close();
  });

  it('holds other appenders of the same store until commit, but not other schemas', async () => {
    const [a, b] = [await auditTestKit('postgres'), await auditTestKit('postgres')];
    kits.push(a, b);
    const holder = await a.open();
    const sameStore = await a.open();
    const otherStore = await b.open();
    await appendMany(sameStore, 1);
    await appendMany(otherStore, 1);
    let waited = false;
    let blocked: Promise<void> | undefined;
    await holder.vault.store.db.transaction().execute(async (trx) => {
      await lockAuditChain(trx, 'postgres');
      blocked = appendMany(sameStore, 1).then(() => {
        waited = true;
      });
      await appendMany(otherStore, 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(waited).toBe(false);
    });
    await blocked;
    expect(waited).toBe(true);
    expect(await sameStore.audit.verify()).toMatchObject({ ok: true, entries: 2 });
    expect(await otherStore.audit.verify()).toMatchObject({ ok: true, entries: 2 });
  });
});

describe.each(DIALECTS)('audit appends from several processes on %s', (dialect) => {
  let database: TestDatabase;
  afterEach(async () => database?.drop());

  it('keeps one contiguous, verifiable chain', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const fixture = fileURLToPath(new URL('./fixtures/append-process.mjs', import.meta.url));
    // Create the store (and its audit key) first so the processes race only on appends.
    const append = (count: number, tag: string) =>
      run(process.execPath, [fixture, database.url, key.toString('hex'), String(count), tag]);
    await append(1, 'first');
    await Promise.all(['a', 'b', 'c'].map((tag) => append(25, tag)));
    const lockbox = await openLockbox({
      database: database.url,
      drivers,
      keyring: Keyring.fromBytes(key),
    });
    try {
      expect(await seqs(lockbox)).toEqual(Array.from({ length: 76 }, (_, i) => i + 1));
      expect(await lockbox.audit.verify()).toMatchObject({ ok: true, entries: 76 });
      const names = (await lockbox.audit.list({ limit: 1000 })).map((e) => e.name);
      for (const tag of ['a', 'b', 'c']) {
        expect(names.filter((n) => n?.startsWith(`${tag}-`))).toHaveLength(25);
      }
    } finally {
      await lockbox.close();
    }
  });
});
