/**
 * `lockbox status` and `lockbox doctor` report rows a database writer changed —
 * by table and row id, never a value — and exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

describe('integrity breaks in the CLI (SQLite, rows edited in place)', SPAWNING, () => {
  let store: CliStore;
  let tokenId: string;
  beforeAll(async () => {
    store = await initialisedStore('sqlite');
    tokenId = await store.withLibrary(async (lockbox) => {
      await lockbox.secrets.set('prod', 'K', 'canary-cli-integrity');
      const created = await lockbox.tokens.create({
        name: 'ci',
        permissions: ['secrets:read:dev'],
      });
      // The writer widens the token.
      await lockbox.vault.store.db
        .updateTable('lockbox_tokens')
        .set({ permissions: JSON.stringify(['admin']) })
        .where('id', '=', created.id)
        .execute();
      return created.id;
    });
  });
  afterAll(async () => store?.drop());

  it('status lists the row and exits 1', async () => {
    const result = await store.run(['status', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { integrity: { breaks: unknown[] } };
    expect(report.integrity.breaks).toEqual([{ table: 'lockbox_tokens', rowId: tokenId }]);
    expect(result.stdout + result.stderr).not.toContain('admin');
    expect(result.stdout + result.stderr).not.toContain('canary-cli-integrity');
  });

  it('doctor names the row and what to do, and exits 1', async () => {
    const result = await store.run(['doctor']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`row ${tokenId} of lockbox_tokens fails its integrity check`);
    expect(result.stdout).not.toContain('admin');
  });
});
