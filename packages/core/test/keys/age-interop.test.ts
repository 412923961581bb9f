/**
 * Interop with the stock `age` binary: a recovery key made by Lockbox must work
 * with `age` alone, and the other way round. In CI (process.env.CI set) a missing
 * `age` fails the run; on a workstation it skips with a warning.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generateAgeIdentity,
  unwrapWithIdentity,
  wrapToRecipient,
  writeAgeIdentityFile,
} from '../../src/keys/age-identity.js';
import { expectRejection } from './expect-error.js';

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

const AGE = findOnPath('age');
const inCI = !['', '0', 'false', undefined].includes(process.env.CI);
if (AGE === undefined && !inCI) {
  console.warn(
    '\n*** age-interop: the `age` binary is not on PATH; SKIPPING interop tests with the stock age tool. ***\n' +
      '*** Install it (apt install age / brew install age) to run them. In CI they fail instead. ***\n',
  );
}

/** Runs `age` with `input` on stdin; resolves with stdout as bytes. */
async function runAge(args: string[], input: Uint8Array | string): Promise<Buffer> {
  if (AGE === undefined) throw new Error('unreachable: age is missing');
  const child = promisify(execFile)(AGE, args, { encoding: 'buffer', maxBuffer: 1 << 20 });
  child.child.stdin?.end(input);
  return (await child).stdout;
}

describe('the age binary is available', () => {
  it.runIf(inCI)('finds `age` on PATH (required in CI)', () => {
    expect(AGE, 'CI must install the age binary (e.g. apt-get install age)').toBeDefined();
  });
});

describe.skipIf(AGE === undefined)('interop with the stock age binary', () => {
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
    const keygen = findOnPath('age-keygen');
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
