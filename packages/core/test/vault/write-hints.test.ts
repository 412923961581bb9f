/**
 * A write starts from the version its handle last wrote (write-hints.ts); when
 * another handle changed or deleted the row since, the guarded write lands
 * nowhere and the write seals again from the database: versions stay exact,
 * ifVersion is judged against the stored row, never against the hint, and every
 * value decrypts.
 */
import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';

describe.each(DIALECTS)('writes from a stale hint on %s', (dialect) => {
  let database: TestDatabase;
  const handles: Lockbox[] = [];

  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.close();
    await database?.drop();
  });

  async function twoHandles(): Promise<[Lockbox, Lockbox]> {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const pair: [Lockbox, Lockbox] = [await open(database, key), await open(database, key)];
    handles.push(...pair);
    return pair;
  }

  it('writes the next stored version after another handle wrote the row', async () => {
    const [a, b] = await twoHandles();
    expect(await a.secrets.set('app', 'k', 'a1')).toBe(1);
    expect(await b.secrets.set('app', 'k', 'b2')).toBe(2);
    expect(await b.secrets.set('app', 'k', 'b3')).toBe(3);
    // a's hint says version 1: the write must land as 4, sealed for 4.
    expect(await a.secrets.set('app', 'k', 'a4')).toBe(4);
    expect(await b.secrets.read('app', 'k')).toMatchObject({ value: 'a4', version: 4 });
    expect((await b.secrets.list({ verify: true })).map((s) => s.status)).toEqual(['ok']);
  });

  it('judges ifVersion against the stored row, not the hint', async () => {
    const [a, b] = await twoHandles();
    await a.secrets.set('app', 'k', 'a1');
    await b.secrets.set('app', 'k', 'b2');
    await expect(a.secrets.set('app', 'k', 'x', { ifVersion: 1 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect(await a.secrets.set('app', 'k', 'a3', { ifVersion: 2 })).toBe(3);
    expect(await b.secrets.get('app', 'k')).toBe('a3');
  });

  it('starts a new life after another handle deleted and re-created the row', async () => {
    const [a, b] = await twoHandles();
    await a.secrets.set('app', 'k', 'a1');
    await a.secrets.set('app', 'k', 'a2');
    expect(await b.secrets.delete('app', 'k')).toBe(true);
    expect(await a.secrets.set('app', 'k', 'a-new')).toBe(1);
    expect(await b.secrets.read('app', 'k')).toMatchObject({ value: 'a-new', version: 1 });
    await b.secrets.delete('app', 'k');
    expect(await b.secrets.set('app', 'k', 'b1')).toBe(1);
    // a's hint (version 1, the older life's created_at) must not match the new row.
    expect(await a.secrets.set('app', 'k', 'a2')).toBe(2);
    expect(await b.secrets.get('app', 'k')).toBe('a2');
  });
});
