import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatMasterKey,
  generateMasterKey,
  Keyring,
  openLockbox,
  writeMasterKeyFile,
} from '@lockbox/core';
import { encryptFernet, parseFernetKey } from '@lockbox/core/hazmat';
import { DIALECTS, drivers } from '@lockbox/test-helpers';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { initialisedStore, SPAWNING } from './helpers/cli.js';

function keyIn(path: string): Buffer {
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
}

describe.each(DIALECTS)('lockbox rotate master and doctor on %s', SPAWNING, (dialect) => {
  it('rewraps every data key to the new key file, and doctor then says the old key can go', async () => {
    const store = await initialisedStore(dialect);
    try {
      await store.withLibrary(async (lockbox) => {
        for (let i = 0; i < 5; i++) await lockbox.secrets.set(`tenant:${i}`, 'api-key', `sk-${i}`);
      });
      const oldFp = Keyring.fromBytes(keyIn(join(store.dir, 'lockbox.key'))).primary.fingerprint;
      const newFile = join(store.dir, 'new.key');
      await writeMasterKeyFile(newFile, generateMasterKey());
      const rotated = await store.run([
        'rotate',
        'master',
        '--new-key-file',
        'new.key',
        '--online',
        '--batch-size',
        '2',
      ]);
      expect(rotated.code, rotated.stderr).toBe(0);
      const lines = rotated.stdout.split('\n');
      // One data key per tenant scope, and the store's integrity key (lockbox:integrity).
      expect(lines[0]).toBe('6 data keys rewrapped; 0 rows re-encrypted across 0 tables');
      // The configured key file followed: it holds new.key's key, the old one is kept beside it.
      expect(readFileSync(join(store.dir, 'lockbox.key'), 'utf8')).toBe(
        readFileSync(newFile, 'utf8'),
      );
      expect(rotated.stdout).toContain(
        `the old key ${oldFp} is kept in ${join(store.dir, 'lockbox.key.previous')}`,
      );

      const doctor = await store.run(['doctor', '--json']);
      expect(doctor.code, doctor.stderr).toBe(0);
      const report = JSON.parse(doctor.stdout) as {
        ok: boolean;
        census: { droppable: string[]; primary: string };
      };
      expect(report.ok).toBe(true);
      expect(report.census.droppable).toEqual([oldFp]);

      const lockbox = await openLockbox({
        database: store.db.url,
        drivers,
        keyring: Keyring.fromBytes(keyIn(newFile)),
        mode: 'open',
      });
      try {
        for (let i = 0; i < 5; i++)
          expect(await lockbox.secrets.get(`tenant:${i}`, 'api-key')).toBe(`sk-${i}`);
      } finally {
        await lockbox.close();
      }
    } finally {
      await store.drop();
    }
  });
});

describe('lockbox rotate: refusals, stdin keys, data, adopt, status, resume', SPAWNING, () => {
  it('refuses a wrong old key without changing a byte, then does the rest', async () => {
    const store = await initialisedStore('sqlite');
    try {
      await store.withLibrary(async (lockbox) => {
        await lockbox.secrets.set('prod', 'db-password', 'hunter2');
        await sql`create table connectors (id integer primary key, token text)`.execute(
          lockbox.vault.store.db,
        );
      });
      const fernetText = Buffer.alloc(32, 3).toString('base64url');
      const fernetFile = join(store.dir, 'app-fernet.key');
      writeFileSync(fernetFile, `${fernetText}\n`, { mode: 0o600 });
      await store.withLibrary(async (lockbox) => {
        const token = encryptFernet(parseFernetKey(fernetText), Buffer.from('xoxb-legacy'));
        await sql`insert into connectors values (1, ${token}), (2, 'plain-legacy'), (3, null)`.execute(
          lockbox.vault.store.db,
        );
      });
      const dbFile = store.db.file as string;
      const hash = () => createHash('sha256').update(readFileSync(dbFile)).digest('hex');
      const before = hash();
      const wrongFile = join(store.dir, 'wrong.key');
      await writeMasterKeyFile(wrongFile, generateMasterKey());
      const refused = await store.run([
        'rotate',
        'master',
        '--old-key-file',
        'wrong.key',
        '--write-new-key-file',
        'next.key',
        '--json',
      ]);
      expect(refused.code).toBe(3);
      expect(JSON.parse(refused.stderr)).toMatchObject({
        error: { code: 'ROTATION_OLD_KEY_MISMATCH' },
      });
      expect(hash()).toBe(before);
      expect(() => statSync(join(store.dir, 'next.key'))).toThrow();

      // Both keys on stdin, the new one generated here.
      const oldText = readFileSync(join(store.dir, 'lockbox.key'), 'utf8').trim();
      const newKey = generateMasterKey();
      const viaStdin = await store.run(['rotate', 'master', '--keys-stdin', '--json'], {
        input: `${oldText}\n${formatMasterKey(newKey)}\n`,
      });
      expect(viaStdin.code, viaStdin.stderr).toBe(0);
      expect(JSON.parse(viaStdin.stdout)).toMatchObject({
        kind: 'master',
        mode: 'atomic',
        oldKeyRetired: true,
      });

      // From here on the configured keyring is the new key (old as previous).
      const env = {
        LOCKBOX_MASTER_KEY: formatMasterKey(newKey),
        LOCKBOX_PREVIOUS_KEYS: oldText,
      };
      const adopted = await store.run(
        [
          'rotate',
          'adopt',
          '--table',
          'connectors',
          '--column',
          'token',
          '--register',
          '--fernet-key-file',
          'app-fernet.key',
          '--plaintext',
        ],
        { env },
      );
      expect(adopted.code, adopted.stderr).toBe(0);
      expect(adopted.stdout).toContain(
        'adopted 2 rows of connectors.token (Fernet 1, v2 0, plaintext 1)',
      );

      const data = await store.run(['rotate', 'data', '--field-grace', '0'], { env });
      expect(data.code, data.stderr).toBe(0);
      expect(data.stdout.split('\n')[0]).toBe(
        '3 rows re-encrypted across 2 tables; 2 old data keys destroyed',
      );

      const status = await store.run(['rotate', 'status', '--json'], { env });
      const parsed = JSON.parse(status.stdout) as {
        unfinished: unknown;
        recent: { kind: string }[];
      };
      expect(parsed.unfinished).toBeNull();
      expect(parsed.recent.map((j) => j.kind)).toEqual(['data', 'master']);

      const resume = await store.run(['rotate', 'resume'], { env });
      expect(resume.code).toBe(4);
      expect(resume.stderr).toMatch(/^error \[ROTATION_NOT_FOUND\]/);

      const lockbox = await openLockbox({
        database: store.db.url,
        drivers,
        keyring: Keyring.fromBytes(newKey),
        mode: 'open',
      });
      try {
        expect(await lockbox.secrets.get('prod', 'db-password')).toBe('hunter2');
        const { rows } = await sql<{
          id: number;
          token: string;
        }>`select id, token from connectors where token is not null order by id`.execute(
          lockbox.vault.store.db,
        );
        expect(
          await Promise.all(
            rows.map((r) => lockbox.fields.decrypt('connectors', 'token', r.id, r.token)),
          ),
        ).toEqual(['xoxb-legacy', 'plain-legacy']);
      } finally {
        await lockbox.close();
      }
    } finally {
      await store.drop();
    }
  });
});
