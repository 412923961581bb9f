/**
 * The CLI with a master key on a PKCS#11 token (SoftHSM2, a temporary token):
 * keygen --pkcs11 creates it, init --existing-key --master-key-uri makes a store
 * with it, and set/get/status work with LOCKBOX_MASTER_KEY_URI. Spawned, because
 * the URI is read from flags and environment of a fresh process, which loads
 * the module itself; the PIN never appears in any output.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIALECTS, describeWithSoftHsm, freshDatabase, newHsmToken } from '@lockbox/test-helpers';
import { afterEach, expect, it } from 'vitest';
import { runCli, SPAWNING, tempDir } from './helpers/cli.js';

describeWithSoftHsm('CLI with a PKCS#11 master key', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it.each(DIALECTS)(
    'keygen --pkcs11, init, set, get and status on %s',
    async (dialect) => {
      const token = newHsmToken();
      const uri = token.uri(`kek-${randomBytes(3).toString('hex')}`);
      const { dir, cleanup } = tempDir();
      const db = await freshDatabase(dialect);
      cleanups.push(cleanup, () => db.drop());
      // The children find the test's token through the inherited SOFTHSM2_CONF.
      const env = { LOCKBOX_DATABASE: db.url, SOFTHSM2_CONF: process.env.SOFTHSM2_CONF };
      const outputs: string[] = [];
      const run = async (args: string[], extra: Record<string, string> = {}) => {
        const result = await runCli(args, { cwd: dir, env: { ...env, ...extra } });
        outputs.push(result.stdout, result.stderr);
        return result;
      };

      const keygen = await run(['keygen', '--pkcs11', uri, '--json']);
      expect(keygen.code, keygen.stderr).toBe(0);
      const { fingerprint } = JSON.parse(keygen.stdout) as { fingerprint: string };
      expect((await run(['keygen', '--pkcs11', uri])).code).toBe(5); // PKCS11_KEY_EXISTS

      // Without --existing-key, init would make a new local key: refused instead.
      expect((await run(['init', '--master-key-uri', uri])).code).toBe(2);
      const init = await run(['init', '--existing-key', '--master-key-uri', uri, '--json']);
      expect(init.code, init.stderr).toBe(0);
      expect(JSON.parse(init.stdout)).toMatchObject({ fingerprint });

      const withUri = { LOCKBOX_MASTER_KEY_URI: uri };
      const set = await runCli(['set', 'prod', 'api'], {
        cwd: dir,
        env: { ...env, ...withUri },
        input: 'sk_live_canary',
      });
      expect(set.code, set.stderr).toBe(0);
      const get = await run(['get', 'prod', 'api'], withUri);
      expect(get.stdout.trimEnd()).toBe('sk_live_canary');
      const status = await run(['status', '--json'], withUri);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(fingerprint);

      const wrongPin = join(dir, 'wrong.pin');
      writeFileSync(wrongPin, 'not-the-pin', { mode: 0o600 });
      const refused = await run(['get', 'prod', 'api'], {
        LOCKBOX_MASTER_KEY_URI: uri.replace(token.pinFile, wrongPin),
      });
      expect(refused.code).toBe(3); // PKCS11_PIN_INCORRECT
      expect(refused.stderr).toContain('PKCS11_PIN_INCORRECT');
      for (const text of outputs) expect(text).not.toContain(token.pin);
    },
    SPAWNING.timeout,
  );
  it(
    'rotate master moves a store from a key file into the token and back out (exit plan)',
    async () => {
      const token = newHsmToken();
      const uri = token.uri(`kek-${randomBytes(3).toString('hex')}`);
      const { dir, cleanup } = tempDir();
      const db = await freshDatabase('sqlite');
      cleanups.push(cleanup, () => db.drop());
      const env = { LOCKBOX_DATABASE: db.url, SOFTHSM2_CONF: process.env.SOFTHSM2_CONF };
      const outputs: string[] = [];
      const run = async (args: string[], extra: Record<string, string> = {}, input?: string) => {
        const result = await runCli(args, {
          cwd: dir,
          env: { ...env, ...extra },
          ...(input === undefined ? {} : { input }),
        });
        outputs.push(result.stdout, result.stderr);
        return result;
      };
      const localKey = join(dir, 'local.key');
      expect((await run(['init', '--key-file', localKey])).code).toBe(0);
      const fromFile = { LOCKBOX_MASTER_KEY_FILE: localKey };
      expect((await run(['set', 'prod', 'api'], fromFile, 'sk_live_moved')).code).toBe(0);
      expect((await run(['keygen', '--pkcs11', uri])).code).toBe(0);

      // File → HSM: every data key rewrapped inside the token.
      const into = await run(['rotate', 'master', '--new-key-uri', uri, '--json'], fromFile);
      expect(into.code, into.stderr).toBe(0);
      expect(JSON.parse(into.stdout)).toMatchObject({ oldKeyRetired: true });
      const fromToken = { LOCKBOX_MASTER_KEY_URI: uri };
      expect((await run(['get', 'prod', 'api'], fromToken)).stdout).toBe('sk_live_moved\n');
      // The key file alone no longer opens the store.
      expect((await run(['get', 'prod', 'api'], fromFile)).code).toBe(3);

      // HSM → file: the exit plan, into a freshly generated key file.
      const exitKey = join(dir, 'exit.key');
      const out = await run(
        ['rotate', 'master', '--old-key-uri', uri, '--write-new-key-file', exitKey, '--json'],
        fromToken,
      );
      expect(out.code, out.stderr).toBe(0);
      const fromExit = { LOCKBOX_MASTER_KEY_FILE: exitKey };
      expect((await run(['get', 'prod', 'api'], fromExit)).stdout).toBe('sk_live_moved\n');
      for (const text of outputs) expect(text).not.toContain(token.pin);
    },
    SPAWNING.timeout,
  );
});
