/**
 * Several processes at once, as several instances sharing one store would be.
 * On PostgreSQL (the multi-instance dialect) and on SQLite (several processes on
 * one file): two processes rotating at once → one runs, the other is refused
 * with ROTATION_IN_PROGRESS; an application process writing throughout an
 * online data re-key loses nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMasterKey } from '@lockbox/core';
import { DIALECTS, freshDatabase, open } from '@lockbox/test-helpers';
import { describe, expect, it } from 'vitest';
import { runChild, startChild } from './run-child.js';
import { dataKeyStates, expectAllReadable, secretKey, seed } from './store-fixture.js';

describe.each(DIALECTS)('concurrent processes on %s', (dialect) => {
  it('two processes rotate at once: one runs, the other gets ROTATION_IN_PROGRESS naming it', async () => {
    const database = await freshDatabase(dialect);
    const dir = mkdtempSync(join(tmpdir(), 'lockbox-race-'));
    try {
      const data = await seed(database, { scopes: 4, perScope: 1, rows: 2 });
      const newKey = generateMasterKey();
      const release = join(dir, 'release');
      const args = {
        url: database.url,
        primary: data.key.toString('base64'),
        op: 'master',
        mode: 'online',
        batchSize: 1,
        oldKey: data.key.toString('base64'),
        newKey: newKey.toString('base64'),
        // Whoever gets the lock holds it until the other has been refused, so the two
        // overlap however slowly either process starts.
        holdUntil: release,
      };
      const first = startChild(args);
      const second = startChild(args);
      await Promise.race([first.done, second.done]);
      writeFileSync(release, '');
      const [a, b] = await Promise.all([first.done, second.done]);
      const outcomes = [a, b].map((o) => o.answer);
      const winner = outcomes.find((o) => o?.ok === true);
      const loser = outcomes.find((o) => o?.ok === false);
      expect(winner, `${a.stderr}\n${b.stderr}`).toBeDefined();
      expect(loser).toMatchObject({
        code: 'ROTATION_IN_PROGRESS',
        message: expect.stringMatching(
          /holds the rotation lock: .+:\d+:[0-9a-f-]{36} \(host:pid:job\) since /,
        ),
      });
      expect(winner?.result).toMatchObject({ oldKeyRetired: true, dataKeys: { rewrapped: 6 } });
      const lockbox = await open(database, newKey);
      try {
        await expectAllReadable(lockbox, data);
      } finally {
        await lockbox.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });

  it('writes from another process during an online re-key are all present and correct', async () => {
    const database = await freshDatabase(dialect);
    const dir = mkdtempSync(join(tmpdir(), 'lockbox-writer-'));
    try {
      const data = await seed(database, { scopes: 6, perScope: 4, rows: 10 });
      const stopFile = join(dir, 'stop');
      const scopes = [...Array(6).keys()].map((s) => `tenant:${s}`);
      const names = [...Array(4).keys()]
        .map((n) => `credential-${n}`)
        .concat(['added-a', 'added-b']);
      const writer = startChild({
        url: database.url,
        primary: data.key.toString('base64'),
        op: 'write',
        scopes,
        names,
        stopFile,
      });
      await writer.waitFor((line) => line.writing === true);
      const rekey = await runChild({
        url: database.url,
        primary: data.key.toString('base64'),
        op: 'data',
        mode: 'online',
        batchSize: 3,
        // Stretch the job so that many application writes land in the middle of it.
        pauseMs: 40,
        fieldGraceMs: 0,
      });
      writeFileSync(stopFile, '');
      const written = await writer.done;
      expect(rekey.answer, rekey.stderr).toMatchObject({
        ok: true,
        result: { dataKeys: { destroyed: 7, retained: 0 }, unreadable: 0 },
      });
      expect(written.answer, written.stderr).toMatchObject({ ok: true });
      const { writes, written: values } = (written.answer?.result ?? {}) as {
        writes: number;
        written: Record<string, string>;
      };
      expect(writes).toBeGreaterThan(20);
      for (const [path, value] of Object.entries(values)) {
        const [scope, name] = path.split('/') as [string, string];
        data.secrets.set(secretKey(scope, name), value);
      }
      const lockbox = await open(database, data.key);
      try {
        await expectAllReadable(lockbox, data);
        expect((await dataKeyStates(lockbox)).user.retiring ?? 0).toBe(0);
      } finally {
        await lockbox.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
