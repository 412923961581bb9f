/**
 * Crash safety: a rotation process is killed with SIGKILL at many points —
 * between batches, inside a batch's transaction, inside the one atomic
 * transaction, between the main pass and the verification pass — for master
 * rotation, data re-key and adoption, online and atomic, on both dialects.
 * After each kill: every secret and field row decrypts with the configured
 * keyring (both keys for a master rotation), and rerunning the same rotation
 * finishes it with totals that count every row exactly once.
 */

import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { encryptFernet, encryptV2, parseFernetKey } from '@lockbox/core/hazmat';
import {
  cloneDatabase,
  DIALECTS,
  freshDatabase,
  open,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChild } from './run-child.js';
import { appDb, dataKeyStates, expectAllReadable, type Seeded, seed } from './store-fixture.js';

type Case = { op: 'master' | 'data'; mode: 'online' | 'atomic'; killAt: number };

// Event numbers for the seeded store below (see rotation-child.mjs: progress events).
// master, batch 1: 1 = start, 2…7 = after each of the 6 data keys (atomic: inside the transaction).
// data, batch 2: 1…3 = switch (6 scopes), 4…11 = secrets, 12…14 = field rows, 15…17 =
// verification pass over the field (atomic: 1…14 inside the one transaction, 15… after it).
const CASES: Case[] = [
  ...[1, 3, 7].map((killAt) => ({ op: 'master' as const, mode: 'online' as const, killAt })),
  ...[2, 5].map((killAt) => ({ op: 'master' as const, mode: 'atomic' as const, killAt })),
  ...[2, 6, 12, 16].map((killAt) => ({ op: 'data' as const, mode: 'online' as const, killAt })),
  ...[8, 16].map((killAt) => ({ op: 'data' as const, mode: 'atomic' as const, killAt })),
];

async function closing<T>(lockbox: Lockbox, run: (lockbox: Lockbox) => Promise<T>): Promise<T> {
  try {
    return await run(lockbox);
  } finally {
    await lockbox.close();
  }
}

describe.each(DIALECTS)('crash safety on %s', (dialect) => {
  let template: TestDatabase;
  let data: Seeded;

  beforeAll(async () => {
    template = await freshDatabase(dialect);
    data = await seed(template, { scopes: 5, perScope: 3, rows: 6 });
  });

  afterAll(async () => {
    await template?.drop();
  });

  it.concurrent.each(CASES)(
    'SIGKILL in $op rotation ($mode) at event $killAt: all rows readable, rerun completes with right totals',
    async ({ op, mode, killAt }) => {
      const database = await cloneDatabase(template);
      try {
        const newKey = generateMasterKey();
        const outcome = await runChild({
          url: database.url,
          primary: data.key.toString('base64'),
          op,
          mode,
          batchSize: op === 'master' ? 1 : 2,
          killAt,
          oldKey: data.key.toString('base64'),
          newKey: newKey.toString('base64'),
          // Destroy the field scope's old key at once: this test counts destroyed keys.
          fieldGraceMs: 0,
        });
        expect(outcome.signal, outcome.stderr).toBe('SIGKILL');
        if (op === 'master') {
          // The configured keyring during a master rotation: new primary, old previous.
          await closing(await open(database, newKey, [data.key]), async (lockbox) => {
            await expectAllReadable(lockbox, data);
            const result = await lockbox.rotation.rotateMaster({ oldKey: data.key, newKey });
            expect(result).toMatchObject({
              resumed: true,
              mode,
              dataKeys: { planned: 7, rewrapped: 7, remaining: 0 },
              oldKeyRetired: true,
            });
          });
          // Finished: the new key alone opens everything.
          await closing(await open(database, newKey), (lockbox) =>
            expectAllReadable(lockbox, data),
          );
        } else {
          await closing(await open(database, data.key), async (lockbox) => {
            await expectAllReadable(lockbox, data);
            const result = await lockbox.rotation.rekeyData({ fieldGraceMs: 0 });
            expect(result).toMatchObject({
              resumed: true,
              mode,
              secrets: 15,
              rows: 21,
              conflicts: 0,
              dataKeys: { retired: 6, destroyed: 6, retained: 0 },
            });
            await expectAllReadable(lockbox, data);
            expect((await dataKeyStates(lockbox)).user).toEqual({ active: 6, destroyed: 6 });
          });
        }
      } finally {
        await database.drop();
      }
    },
  );

  it.concurrent.each([2])(
    'SIGKILL during adoption at event %i: every row reads back (legacy or adopted), rerun adopts the rest',
    async (killAt) => {
      const database = await freshDatabase(dialect);
      try {
        const key = generateMasterKey();
        const fernetText = Buffer.alloc(32, 9).toString('base64url');
        const fernetKey = parseFernetKey(fernetText);
        const v2Key = Buffer.alloc(32, 4);
        const expected = new Map<number, string>();
        await closing(await open(database, key, [], 'open-or-create'), async (lockbox) => {
          await sql`create table api_keys (id integer primary key, secret text)`.execute(
            appDb(lockbox),
          );
          for (let id = 1; id <= 8; id++) {
            const value = `sk-${id}-${'é'.repeat(id % 3)}`;
            const stored =
              id % 3 === 0
                ? value
                : id % 3 === 1
                  ? encryptFernet(fernetKey, Buffer.from(value))
                  : encryptV2(v2Key, Buffer.from(value));
            await sql`insert into api_keys values (${id}, ${stored})`.execute(appDb(lockbox));
            expected.set(id, value);
          }
          await lockbox.fields.register({ table: 'api_keys', column: 'secret' });
        });
        const legacy = {
          table: 'api_keys',
          column: 'secret',
          fernetKeys: [fernetText],
          plaintext: true,
        };
        const outcome = await runChild({
          url: database.url,
          primary: key.toString('base64'),
          op: 'adopt',
          batchSize: 2,
          killAt,
          ...legacy,
          v2Keys: [v2Key.toString('base64')],
        });
        expect(outcome.signal, outcome.stderr).toBe('SIGKILL');
        await closing(await open(database, key), async (lockbox) => {
          const rows = async () =>
            (
              await sql<{
                id: number;
                secret: string;
              }>`select id, secret from api_keys order by id`.execute(appDb(lockbox))
            ).rows;
          const remaining = (await rows()).filter((r) => !r.secret.startsWith('lb1:')).length;
          expect(remaining).toBeGreaterThan(0);
          const result = await lockbox.rotation.adopt({ ...legacy, v2Keys: [v2Key] });
          const adopted = result.adopted.fernet + result.adopted.v2 + result.adopted.plaintext;
          expect(adopted).toBe(remaining);
          expect(result.failed).toBe(0);
          for (const row of await rows()) {
            expect(await lockbox.fields.decrypt('api_keys', 'secret', row.id, row.secret)).toBe(
              expected.get(Number(row.id)),
            );
          }
        });
      } finally {
        await database.drop();
      }
    },
  );
});
