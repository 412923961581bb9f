/**
 * Everything unchanged with a PKCS#11 (SoftHSM2) master key in the keyring, on
 * both dialects: a store created with it, secrets and fields, the startup key
 * check, status and census, and master rotation file → HSM → HSM → file with
 * every secret and field row readable after each step; audit entries name the
 * providers; a token that goes away mid-rotation changes nothing.
 */
import {
  generateAgeIdentity,
  generateMasterKey,
  Keyring,
  type Lockbox,
  masterKeyFrom,
  openLockbox,
  Recovery,
} from '@lockbox/core';
import {
  changeHsmPin,
  DIALECTS,
  describeWithSoftHsm,
  drivers,
  dropHsmSessions,
  expectRejection,
  freshDatabase,
  newHsmKey,
  open,
  type TestDatabase,
} from '@lockbox/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { runChild } from './run-child.js';
import { expectAllReadable, seed } from './store-fixture.js';

describeWithSoftHsm('a PKCS#11 master key', () => {
  describe.each(DIALECTS)('on %s', (dialect) => {
    let database: TestDatabase;
    const opened: Lockbox[] = [];
    const track = (lockbox: Lockbox) => {
      opened.push(lockbox);
      return lockbox;
    };

    afterEach(async () => {
      for (const lockbox of opened.splice(0)) await lockbox.close();
      await database?.drop();
    });

    it('creates a store, stores and reads secrets, and passes the startup key check', async () => {
      database = await freshDatabase(dialect);
      const { key, uri } = await newHsmKey();
      const lockbox = track(await open(database, new Keyring(key)));
      await lockbox.secrets.set('prod', 'stripe', 'sk_live_canary');
      const wrapped = await lockbox.vault.store.db
        .selectFrom('lockbox_data_keys')
        .select(['wrapped', 'master_fingerprint'])
        .execute();
      expect(wrapped.every((r) => r.wrapped?.startsWith('lbh1:'))).toBe(true);
      expect(wrapped.every((r) => r.master_fingerprint === key.fingerprint)).toBe(true);
      await lockbox.close();
      opened.length = 0;
      // A second process opens the same key from its URI alone.
      const { Pkcs11MasterKey } = await import('@lockbox/core');
      const again = track(
        await open(database, new Keyring(await Pkcs11MasterKey.open(uri)), [], 'open'),
      );
      expect(await again.secrets.get('prod', 'stripe')).toBe('sk_live_canary');
      const status = await again.status();
      expect(status.keys.primary).toBe(key.fingerprint);
      // A local key that opens nothing is refused by the startup check, writing nothing.
      await expectRejection(open(database, generateMasterKey(), [], 'open'), 'KEY_WRONG');
    });

    it('opens in one line from a URI (openLockbox masterKeyUri / previousKeyUris)', async () => {
      database = await freshDatabase(dialect);
      const { uri } = await newHsmKey();
      const first = track(await openLockbox({ database: database.url, masterKeyUri: uri }));
      await first.secrets.set('prod', 'api', 'sk_uri');
      const local = generateMasterKey();
      await first.rotation.rotateMaster({ oldKey: first.vault.keyring.primary, newKey: local });
      const both = track(
        await openLockbox({ database: database.url, masterKey: local, previousKeyUris: [uri] }),
      );
      expect(await both.secrets.get('prod', 'api')).toBe('sk_uri');
      await expectRejection(
        openLockbox({ database: database.url, masterKey: local, masterKeyUri: uri }),
        'INVALID_ARGUMENT',
      );
    });

    it('rotates file → HSM → HSM → file online and atomically, every row readable after each', async () => {
      database = await freshDatabase(dialect);
      const data = await seed(database, { scopes: 6, perScope: 2, rows: 4 });
      const fileKey = masterKeyFrom(data.key);
      const { key: hsmA, token } = await newHsmKey();
      const { key: hsmB } = await newHsmKey(token);
      const fileKey2 = masterKeyFrom(generateMasterKey());
      let lockbox = track(await open(database, new Keyring(fileKey, [hsmA])));
      const steps = [
        [fileKey, hsmA, 'online', 'local', 'pkcs11'],
        [hsmA, hsmB, 'atomic', 'pkcs11', 'pkcs11'],
        [hsmB, fileKey2, 'online', 'pkcs11', 'local'],
      ] as const;
      for (const [oldKey, newKey, mode, from, to] of steps) {
        const result = await lockbox.rotation.rotateMaster({ oldKey, newKey, mode, batchSize: 3 });
        expect(result.dataKeys.remaining).toBe(0);
        await expectAllReadable(lockbox, data);
        // Opened afresh with the new key alone, everything is readable.
        const fresh = track(await open(database, new Keyring(newKey), [], 'open'));
        await expectAllReadable(fresh, data);
        const census = await fresh.rotation.census();
        expect(census.primary).toBe(newKey.fingerprint);
        const entry = (await fresh.audit.list({ action: 'key.rotate.master' })).find(
          (e) => e.details?.to === newKey.fingerprint && e.outcome === 'ok',
        );
        expect(entry?.details).toMatchObject({ fromProvider: from, toProvider: to });
        lockbox = fresh;
      }
      const tags = await lockbox.vault.store.db
        .selectFrom('lockbox_data_keys')
        .select('wrapped')
        .execute();
      expect(tags.every((r) => r.wrapped === null || r.wrapped.startsWith('lbk1:'))).toBe(true);
    });

    it('wraps data keys to the recovery recipient too; a lost token is recovered into another', async () => {
      database = await freshDatabase(dialect);
      const { key: lost } = await newHsmKey();
      const { key: replacement } = await newHsmKey();
      const pair = await generateAgeIdentity();
      const lockbox = await openLockbox({
        database: database.url,
        drivers,
        keyring: new Keyring(lost),
        audit: true,
      });
      await lockbox.recovery.add(pair.recipient);
      await lockbox.secrets.set('tenant:1', 'oauth', 'refresh-canary');
      expect((await lockbox.backup.state()).state).toBe('ok');
      await lockbox.close();
      const summary = await Recovery.recoverStore({
        database: database.url,
        drivers,
        identity: pair.identity,
        newKey: replacement,
      });
      expect(summary.retiredFingerprints).toEqual([lost.fingerprint]);
      const recovered = track(await open(database, new Keyring(replacement), [], 'open'));
      expect(await recovered.secrets.get('tenant:1', 'oauth')).toBe('refresh-canary');
      const rows = await recovered.vault.store.db
        .selectFrom('lockbox_data_keys')
        .select('wrapped')
        .execute();
      expect(rows.every((r) => r.wrapped === null || r.wrapped.startsWith('lbh1:'))).toBe(true);
      expect(await recovered.audit.verify()).toMatchObject({ ok: true });
    });

    it('survives SIGKILL mid-way through an online rotation into the HSM; a rerun finishes it', async () => {
      database = await freshDatabase(dialect);
      const data = await seed(database, { scopes: 5, perScope: 2, rows: 3 });
      const { key: hsmKey, uri } = await newHsmKey();
      // Killed after the 3rd of 7 data keys (batch 1), each batch committed on its own.
      const outcome = await runChild({
        url: database.url,
        primary: data.key.toString('base64'),
        op: 'master',
        mode: 'online',
        batchSize: 1,
        killAt: 4,
        oldKey: data.key.toString('base64'),
        newKeyUri: uri,
      });
      expect(outcome.signal, outcome.stderr).toBe('SIGKILL');
      const local = masterKeyFrom(data.key);
      const both = track(await open(database, new Keyring(hsmKey, [local]), [], 'open'));
      const tags = await both.vault.store.db
        .selectFrom('lockbox_data_keys')
        .select('wrapped')
        .execute();
      const under = (tag: string) => tags.filter((r) => r.wrapped?.startsWith(tag)).length;
      // Half-way: some data keys under each key, and every row readable.
      expect(under('lbh1:')).toBeGreaterThan(0);
      expect(under('lbk1:')).toBeGreaterThan(0);
      await expectAllReadable(both, data);
      const result = await both.rotation.rotateMaster({ oldKey: local, newKey: hsmKey });
      expect(result).toMatchObject({
        resumed: true,
        dataKeys: { remaining: 0 },
        oldKeyRetired: true,
      });
      const fresh = track(await open(database, new Keyring(hsmKey), [], 'open'));
      await expectAllReadable(fresh, data);
    });
    it('stops cleanly when the token becomes unusable mid-rotation (sessions dropped, PIN changed); resume finishes', async () => {
      database = await freshDatabase(dialect);
      const data = await seed(database, { scopes: 5, perScope: 2, rows: 3 });
      const local = masterKeyFrom(data.key);
      const { key: hsmKey, token } = await newHsmKey();
      const lockbox = track(await open(database, new Keyring(local, [hsmKey])));
      let calls = 0;
      const stopped = await expectRejection(
        lockbox.rotation.rotateMaster({
          oldKey: local,
          newKey: hsmKey,
          mode: 'online',
          batchSize: 1,
          onProgress: () => {
            calls += 1;
            // The module drops every session and the PIN it held no longer logs in.
            if (calls === 3) {
              changeHsmPin(token, token.pin, 'another-pin');
              dropHsmSessions(token);
            }
          },
        }),
        'PKCS11_PIN_INCORRECT',
        [token.pin],
      );
      expect(stopped.message).not.toContain('another-pin');
      const status = await lockbox.rotation.status();
      expect(status.unfinished).toMatchObject({
        kind: 'master',
        errorCode: 'PKCS11_PIN_INCORRECT',
      });
      // The token is back (the operator restores the PIN): every row opens with the two
      // keys, data keys are under one or the other, and a rerun finishes the job.
      changeHsmPin(token, 'another-pin', token.pin);
      dropHsmSessions(token);
      const tags = await lockbox.vault.store.db
        .selectFrom('lockbox_data_keys')
        .select('wrapped')
        .execute();
      expect(tags.every((r) => r.wrapped === null || /^lb[hk]1:/.test(r.wrapped))).toBe(true);
      await expectAllReadable(lockbox, data);
      const result = await lockbox.rotation.rotateMaster({ oldKey: local, newKey: hsmKey });
      expect(result).toMatchObject({
        resumed: true,
        dataKeys: { remaining: 0 },
        oldKeyRetired: true,
      });
      const fresh = track(await open(database, new Keyring(hsmKey), [], 'open'));
      await expectAllReadable(fresh, data);
    });
  });
});
