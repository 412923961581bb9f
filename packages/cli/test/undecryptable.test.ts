/**
 * Rows the configured keys cannot open are reported, not skipped: status and
 * list --verify print them and exit 3; list without --verify marks them and warns.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliStore, initialisedStore, SPAWNING } from './helpers/cli.js';

describe('undecryptable rows (SQLite, tampered in place)', SPAWNING, () => {
  let store: CliStore;
  /** The scope whose data key is tampered: chosen at setup (see below). */
  let badKey: string;
  beforeAll(async () => {
    store = await initialisedStore('sqlite');
    await store.withLibrary(async (lockbox) => {
      for (const scope of ['k1', 'k2', 'k3'])
        await lockbox.secrets.set(scope, 'a', `value-${scope}`);
      await lockbox.secrets.set('bad-text', 'c', 'value-c');
    });
    const db = new Database(store.db.file as string);
    try {
      // The startup check unwraps one sample data key per master key and refuses to
      // open if it fails; the tampered key must be another one, so that the store
      // opens and status has rows to report. Same query as the check.
      const sample = db
        .prepare(
          'select "id", "scope", "wrapped" from "lockbox_data_keys" where "master_fingerprint" = (select master_fingerprint from lockbox_data_keys limit 1) and "state" != ? limit ?',
        )
        .get('destroyed', 1) as { scope: string };
      const [donor, victim] = ['k1', 'k2', 'k3'].filter((s) => s !== sample.scope) as [
        string,
        string,
      ];
      badKey = victim;
      // victim's data key gets donor's wrapped bytes: valid format, wrong
      // associated data, so it cannot be unwrapped for victim.
      const wrapped = db
        .prepare('select wrapped from lockbox_data_keys where scope = ?')
        .get(donor) as { wrapped: string };
      db.prepare('update lockbox_data_keys set wrapped = ? where scope = ?').run(
        wrapped.wrapped,
        victim,
      );
      // One character of bad-text's ciphertext changes (its data key is intact).
      const row = db
        .prepare("select ciphertext from lockbox_secrets where scope = 'bad-text'")
        .get() as { ciphertext: string };
      const at = row.ciphertext.length - 5;
      const flipped = row.ciphertext[at] === 'A' ? 'B' : 'A';
      const tampered = row.ciphertext.slice(0, at) + flipped + row.ciphertext.slice(at + 1);
      db.prepare("update lockbox_secrets set ciphertext = ? where scope = 'bad-text'").run(
        tampered,
      );
    } finally {
      db.close();
    }
  });
  afterAll(async () => {
    await store.drop();
  });

  it('status reports the scope whose data key does not open, and exits 3', async () => {
    const status = await store.run(['status', '--json']);
    expect(status.code).toBe(3);
    const report = JSON.parse(status.stdout);
    expect(report.undecryptable).toEqual([
      expect.objectContaining({ scope: badKey, secrets: 1, code: 'DATA_KEY_UNDECRYPTABLE' }),
    ]);
    expect(JSON.parse(status.stderr).error.code).toBe('SECRET_UNDECRYPTABLE');
    const text = await store.run(['status']);
    expect(text.code).toBe(3);
    expect(text.stderr).toMatch(/^error \[SECRET_UNDECRYPTABLE\]: 1 secret/);
    expect(text.stdout).toContain(`UNDECRYPTABLE:\n  ${badKey}: 1 secret(s)`);
  });

  it('list marks rows as undecryptable; --verify also catches a tampered ciphertext and exits 3', async () => {
    const list = await store.run(['list', '--json']);
    expect(list.code).toBe(0);
    expect(list.stderr).toMatch(/warning: 1 secret\(s\) cannot be decrypted/);
    const statuses = (s: string) =>
      Object.fromEntries(
        (JSON.parse(s).secrets as { scope: string; status: string }[]).map((r) => [
          r.scope,
          r.status,
        ]),
      );
    const ok = { k1: 'ok', k2: 'ok', k3: 'ok' };
    expect(statuses(list.stdout)).toEqual({ ...ok, [badKey]: 'undecryptable', 'bad-text': 'ok' });
    const verify = await store.run(['list', '--verify', '--json']);
    expect(verify.code).toBe(3);
    expect(statuses(verify.stdout)).toEqual({
      ...ok,
      [badKey]: 'undecryptable',
      'bad-text': 'undecryptable',
    });
  });

  it('get of a tampered secret fails with a typed error naming it, never wrong data', async () => {
    const get = await store.run(['get', 'bad-text', 'c']);
    expect(get.code).toBe(3);
    expect(get.stdout).toBe('');
    expect(get.stderr).toMatch(
      /^error \[SECRET_UNDECRYPTABLE\]: secret "bad-text\/c" cannot be decrypted/,
    );
    const intact = ['k1', 'k2', 'k3'].find((s) => s !== badKey) as string;
    expect((await store.run(['get', intact, 'a'])).stdout).toBe(`value-${intact}\n`);
  });
});
