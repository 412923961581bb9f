/**
 * `lockbox audit anchor` and `lockbox audit verify --anchor`, spawned: the
 * attack an anchor exists for. A database writer saves the head, lets the log
 * grow, then deletes the later entries and puts the saved head back — the
 * shorter chain verifies on its own; against an anchor taken before the attack it
 * does not. Two spawns besides init; the setup and the attack run in-process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

describe('lockbox audit anchor', SPAWNING, () => {
  let store: CliStore;
  afterEach(async () => {
    await store?.drop();
  });

  it('prints an anchor that catches an older head put back after later entries were deleted', async () => {
    store = await initialisedStore('sqlite');
    const append = (n: number, from: number) =>
      store.withLibrary(async (lockbox) => {
        for (let i = from; i < from + n; i++) {
          await lockbox.audit.record({ action: 'test.event', name: `e${i}`, outcome: 'ok' });
        }
        return lockbox.vault.store.db
          .selectFrom('lockbox_meta')
          .select('value')
          .where('key', '=', 'audit_head')
          .executeTakeFirstOrThrow();
      });
    const savedHead = await append(3, 0);
    await append(3, 3);

    const anchored = await store.run(['audit', 'anchor', '--json']);
    expect(anchored.code, anchored.stderr).toBe(0);
    const { anchor, heads } = JSON.parse(anchored.stdout) as {
      anchor: string;
      heads: { chain: number; seq: number }[];
    };
    expect(anchor).toMatch(
      /^lockbox-audit-anchor\/1 store=\S+ seq=6 hash=[0-9a-f]{64} at=\S+Z key=[0-9a-f]{16} mac=[0-9a-f]{64}$/,
    );
    expect(heads).toEqual([{ chain: 0, seq: 6 }]);
    const file = join(store.dir, 'anchor.txt');
    writeFileSync(file, `${anchor}\n`, { mode: 0o600 });

    // The attack: delete entries 4..6 and restore the head saved at 3.
    const alone = await store.withLibrary(async (lockbox) => {
      const db = lockbox.vault.store.db;
      await db.deleteFrom('lockbox_audit').where('seq', '>', 3).execute();
      await db
        .updateTable('lockbox_meta')
        .set({ value: savedHead.value })
        .where('key', '=', 'audit_head')
        .execute();
      return lockbox.audit.verify();
    });
    // Without the anchor the shorter log is self-consistent (docs/audit.md says so).
    expect(alone).toMatchObject({ ok: true, entries: 3 });

    const checked = await store.run(['audit', 'verify', '--anchor', file]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toContain('AUDIT_CHAIN_BROKEN');
    expect(checked.stderr).toContain('before the anchored entry 6');
  });
});
