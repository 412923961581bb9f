/**
 * Interop with the stock `age` binary: a recovery key made by Lockbox must work
 * with `age` alone, and the other way round. In CI (process.env.CI set) a missing
 * `age` fails the run; on a workstation it skips with a warning (describeWithTool).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AGE, AGE_KEYGEN, describeWithTool, expectRejection, runAge } from '@lockbox/test-helpers';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  generateAgeIdentity,
  unwrapWithIdentity,
  wrapToRecipient,
  writeAgeIdentityFile,
} from '../../src/keys/age-identity.js';

describeWithTool('age', AGE)('interop with the stock age binary', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lockbox-age-interop-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('age -d -i accepts an identity file written by writeAgeIdentityFile', async () => {
    const pair = await generateAgeIdentity();
    const identityFile = join(dir, 'recovery.txt');
    await writeAgeIdentityFile(identityFile, pair.identity);
    const dataKey = randomBytes(32);
    const wrapped = await wrapToRecipient(pair.recipient, dataKey);
    expect(await runAge(['-d', '-i', identityFile], wrapped)).toEqual(dataKey);
  });

  it('age-keygen -y derives the same recipient from our identity file', async () => {
    // age-keygen ships with age in every distribution's package.
    const keygen = AGE_KEYGEN;
    expect(keygen, 'age-keygen should be installed next to age').toBeDefined();
    const pair = await generateAgeIdentity();
    const identityFile = join(dir, 'recovery.txt');
    await writeAgeIdentityFile(identityFile, pair.identity);
    const { stdout } = await promisify(execFile)(keygen as string, ['-y', identityFile]);
    expect(stdout.trim()).toBe(pair.recipient);
  });

  it('unwrapWithIdentity decrypts what `age -a -r <recipient>` encrypted', async () => {
    const pair = await generateAgeIdentity();
    const dataKey = randomBytes(32);
    const armored = (await runAge(['-a', '-r', pair.recipient], dataKey)).toString('utf8');
    expect(await unwrapWithIdentity(pair.identity, armored)).toEqual(dataKey);
    const stranger = await generateAgeIdentity();
    await expectRejection(
      unwrapWithIdentity(stranger.identity, armored),
      'RECOVERY_IDENTITY_MISMATCH',
    );
  });

  it('age refuses our wrapped key with the wrong identity file', async () => {
    const owner = await generateAgeIdentity();
    const stranger = await generateAgeIdentity();
    const identityFile = join(dir, 'stranger.txt');
    await writeFile(identityFile, `${stranger.identity}\n`, { mode: 0o600 });
    const wrapped = await wrapToRecipient(owner.recipient, randomBytes(32));
    await expect(runAge(['-d', '-i', identityFile], wrapped)).rejects.toThrow();
  });
});
