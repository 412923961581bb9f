/**
 * How `export` and `snapshot` put a finished bundle at --output FILE: a 0600
 * temporary file from its first byte, fsynced, then given the final name only if
 * nothing has it (link, which fails atomically), so a file that appears at the
 * target while the bundle is written is never replaced; --force replaces.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openOutput } from '../src/bundle-io.js';
import { CliContext, Invocation } from '../src/context.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockbox-bundle-output-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function invocation(): Invocation {
  const context = new CliContext({
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: {},
    cwd: dir,
  });
  return new Invocation(context, {});
}

const BUNDLE = Buffer.from('age-encryption.org/v1\n…ciphertext…');

/** Opens bundle.age, writes BUNDLE and closes the sink; returns the output, not yet committed. */
async function written(options: { force?: boolean }) {
  const output = await openOutput('bundle.age', invocation(), options);
  const writer = output.sink.getWriter();
  await writer.write(BUNDLE);
  const [temp] = readdirSync(dir);
  // 0600 from the first byte: the temporary file is never readable by others.
  expect(statSync(join(dir, temp as string)).mode & 0o777).toBe(0o600);
  return { output, writer };
}

describe('openOutput to a file', () => {
  it('commits the bundle under its name, mode 0600, leaving no temporary file', async () => {
    const { output, writer } = await written({});
    await writer.close();
    await output.commit();
    const path = join(dir, 'bundle.age');
    expect(readdirSync(dir)).toEqual(['bundle.age']);
    expect(readFileSync(path)).toEqual(BUNDLE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('never replaces a file that appeared at the target after the write started', async () => {
    const { output, writer } = await written({});
    const path = join(dir, 'bundle.age');
    writeFileSync(path, 'another process wrote this');
    await writer.close();
    await expect(output.commit()).rejects.toMatchObject({
      code: 'FILE_EXISTS',
      details: { path },
    });
    expect(readFileSync(path, 'utf8')).toBe('another process wrote this');
    expect(readdirSync(dir)).toEqual(['bundle.age']);
  });

  it('refuses an existing target before writing anything', async () => {
    const path = join(dir, 'bundle.age');
    writeFileSync(path, 'kept');
    await expect(openOutput('bundle.age', invocation(), {})).rejects.toMatchObject({
      code: 'FILE_EXISTS',
      details: { path },
    });
    expect(readdirSync(dir)).toEqual(['bundle.age']);
  });

  it('with force, replaces a file that appeared at the target', async () => {
    const { output, writer } = await written({ force: true });
    const path = join(dir, 'bundle.age');
    writeFileSync(path, 'replaced');
    await writer.close();
    await output.commit();
    expect(readFileSync(path)).toEqual(BUNDLE);
    expect(readdirSync(dir)).toEqual(['bundle.age']);
  });
});
