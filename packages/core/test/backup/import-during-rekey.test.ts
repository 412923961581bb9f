/**
 * A bundle import racing a data re-key never writes a row under a retired data
 * key: every imported row ends on a data key the re-key left active, and reads
 * back as the bundle's value.
 *
 * Import first: the import has picked the scope's data key inside its
 * transaction when a whole online re-key runs (retiring and destroying that
 * key); then the import writes. Its guarded write lands nowhere and it seals
 * again under the scope's new key. Without the guard the rows would land under
 * the destroyed key (PostgreSQL; on SQLite a transaction that has read cannot
 * write after another connection's commit, so the import's pause there comes
 * before its first read — the re-key still runs inside the import's open
 * transaction).
 *
 * Re-key first: an online re-key in its own process is stopped (SIGKILL) after
 * it switched every scope and re-encrypted its first batch; the import then
 * creates and overwrites rows of those scopes; the re-key is resumed and
 * finishes, destroying the retired keys.
 */
import { generateMasterKey, type Lockbox } from '@lockbox/core';
import { parseCiphertext } from '@lockbox/core/hazmat';
import { DIALECTS, freshDatabase, open, type TestDatabase } from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../src/keys/age-identity.js';
import { runChild } from '../rotation/run-child.js';
import { ageEncrypt, bundleText } from './backup-helpers.js';

const SCOPES = ['app', 'ops'];

/** What the store held before the import (by "scope/name"). */
const BEFORE = new Map([
  ['app/kept', 'kept-1'],
  ['app/replaced', 'old-value'],
  ['ops/kept', 'kept-2'],
]);

/** Every row on an active data key named by its ciphertext, every value as expected. */
async function expectOnActiveKeys(lockbox: Lockbox, expected: Map<string, string>) {
  const rows = await lockbox.vault.store.db
    .selectFrom('lockbox_secrets as s')
    .leftJoin('lockbox_data_keys as d', 'd.id', 's.data_key_id')
    .select(['s.scope', 's.name', 's.ciphertext', 's.data_key_id', 'd.state'])
    .orderBy('s.scope')
    .orderBy('s.name')
    .execute();
  expect(rows.map((r) => `${r.scope}/${r.name}`)).toEqual([...expected.keys()].sort());
  for (const row of rows) {
    const where = `${row.scope}/${row.name}`;
    expect(parseCiphertext(row.ciphertext).keyId, where).toBe(row.data_key_id);
    expect(row.state, where).toBe('active');
    expect(await lockbox.secrets.get(row.scope, row.name), where).toBe(expected.get(where));
  }
}

describe.each(DIALECTS)('a bundle import racing a data re-key on %s', (dialect) => {
  let database: TestDatabase;
  const handles: Lockbox[] = [];

  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.close();
    await database?.drop();
  });

  async function seeded(key: Buffer): Promise<Lockbox> {
    const lockbox = await open(database, key);
    handles.push(lockbox);
    for (const [path, value] of BEFORE) {
      const [scope, name] = path.split('/') as [string, string];
      await lockbox.secrets.set(scope, name, value);
    }
    return lockbox;
  }

  async function bundleOf(records: { scope: string; name: string; value: string }[]) {
    const pair = await generateAgeIdentity();
    return {
      bytes: await ageEncrypt(bundleText(records), pair.recipient),
      decryption: { identities: [pair.identity] },
    };
  }

  it('import first: a re-key retires and destroys the key the import picked; the import seals again', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    const rotator = await seeded(key);
    const importer = await open(database, key);
    handles.push(importer);
    const records = [
      { scope: 'app', name: 'created', value: 'from-bundle-1' },
      { scope: 'ops', name: 'created', value: 'from-bundle-2' },
    ];
    const bundle = await bundleOf(records);

    let paused!: () => void;
    let release!: () => void;
    const pausedAt = new Promise<void>((resolve) => {
      paused = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let input: ReadableStream<Uint8Array>;
    if (dialect === 'postgres') {
      // Pause between "which data key is active?" (read in the import's
      // transaction) and the import's write.
      const dataKeys = importer.vault.dataKeys;
      const lookUp = dataKeys.activeFor.bind(dataKeys);
      let first = true;
      dataKeys.activeFor = async (scope, db) => {
        const active = await lookUp(scope, db);
        if (first) {
          first = false;
          paused();
          await gate;
        }
        return active;
      };
      input = new Blob([bundle.bytes]).stream();
    } else {
      // Pause with the import's transaction open, before it reads anything.
      input = new ReadableStream<Uint8Array>({
        async pull(controller) {
          paused();
          await gate;
          controller.enqueue(new Uint8Array(bundle.bytes));
          controller.close();
        },
      });
    }

    const applying = importer.backup.apply(input, {
      decryption: bundle.decryption,
      policy: 'fail',
    });
    applying.catch(() => undefined);
    await pausedAt;
    const rekey = await rotator.rotation.rekeyData({ mode: 'online', batchSize: 1 });
    expect(rekey.dataKeys.destroyed).toBe(SCOPES.length);
    release();
    const report = await applying;
    expect(report.writes).toEqual({ create: 2, overwrite: 0, fieldValues: 0 });

    const expected = new Map(BEFORE);
    for (const r of records) expected.set(`${r.scope}/${r.name}`, r.value);
    await expectOnActiveKeys(rotator, expected);
    const listed = await rotator.secrets.list({ verify: true });
    expect(listed.every((s) => s.status === 'ok')).toBe(true);
  });

  it('re-key first: the import writes into scopes a re-key has switched; the re-key then finishes', async () => {
    database = await freshDatabase(dialect);
    const key = generateMasterKey();
    await seeded(key);
    // Events 1–2 switch the two scopes; 3 follows the first re-encrypted batch.
    const stopped = await runChild({
      url: database.url,
      primary: key.toString('base64'),
      op: 'data',
      mode: 'online',
      batchSize: 1,
      killAt: 3,
    });
    expect(stopped.signal, stopped.stderr).toBe('SIGKILL');

    const importer = await open(database, key);
    handles.push(importer);
    const retiring = await importer.vault.store.db
      .selectFrom('lockbox_data_keys')
      .select('id')
      .where('state', '=', 'retiring')
      .where('scope', 'in', SCOPES)
      .execute();
    expect(retiring).toHaveLength(SCOPES.length);

    const records = [
      { scope: 'app', name: 'replaced', value: 'from-bundle-1' },
      { scope: 'app', name: 'created', value: 'from-bundle-2' },
      { scope: 'ops', name: 'created', value: 'from-bundle-3' },
    ];
    const bundle = await bundleOf(records);
    const report = await importer.backup.apply(bundle.bytes, {
      decryption: bundle.decryption,
      policy: 'overwrite',
    });
    expect(report.writes).toEqual({ create: 2, overwrite: 1, fieldValues: 0 });

    const rekey = await importer.rotation.rekeyData({ batchSize: 1 });
    expect(rekey).toMatchObject({ resumed: true, dataKeys: { destroyed: SCOPES.length } });
    const expected = new Map(BEFORE);
    for (const r of records) expected.set(`${r.scope}/${r.name}`, r.value);
    await expectOnActiveKeys(importer, expected);
  });
});
