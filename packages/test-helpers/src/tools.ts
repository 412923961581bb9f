/**
 * External tools on PATH (the stock `age`): tests that need one skip with a
 * warning on a workstation without it, and fail in CI (process.env.CI set),
 * where .ci/run installs it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { describe } from 'vitest';

/** True when running in CI: a missing tool is then a failure, not a skip. */
export const IN_CI = !['', '0', 'false', undefined].includes(process.env.CI);

/** The executable `name` on PATH, or undefined. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export const AGE = findOnPath('age');
export const AGE_KEYGEN = findOnPath('age-keygen');

/** Runs the stock `age` (or `age-keygen`) with `input` on stdin; resolves with stdout. */
export async function runAge(
  args: string[],
  input: Uint8Array | string,
  tool: 'age' | 'age-keygen' = 'age',
): Promise<Buffer> {
  const path = tool === 'age' ? AGE : AGE_KEYGEN;
  if (path === undefined) {
    throw new Error(`\`${tool}\` is not on PATH (CI must install it: apt-get install age)`);
  }
  const child = promisify(execFile)(path, args, { encoding: 'buffer', maxBuffer: 64 << 20 });
  child.child.stdin?.end(input);
  return (await child).stdout;
}

/**
 * `describe` for a suite that needs an external tool (`path` is where it was
 * found): on a workstation without it the suite skips with a warning; in CI it
 * runs, and fails, since CI must install it.
 */
export function describeWithTool(tool: string, path: string | undefined): typeof describe.skip {
  if (path !== undefined || IN_CI) return describe;
  console.warn(
    `\n*** \`${tool}\` is not on PATH: SKIPPING the tests that need it (they fail in CI). Install it (apt-get install ${tool}) to run them. ***\n`,
  );
  return describe.skip;
}
