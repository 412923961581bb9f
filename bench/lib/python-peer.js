/**
 * The Python peers (bench/peers/*.py) run in a child process under Debian's
 * python3 and print one JSON object; a peer that cannot run says why instead.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './built.js';

export const PYTHON = '/usr/bin/python3';

/**
 * @param {string} script a file in bench/peers
 * @param {(string | number)[]} args
 * @returns {{ available: boolean, reason?: string } & Record<string, any>}
 */
export function runPythonPeer(script, args) {
  const child = spawnSync(
    PYTHON,
    [join(REPO_ROOT, 'bench', 'peers', script), ...args.map(String)],
    {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  if (child.error !== undefined)
    return { available: false, reason: `${PYTHON}: ${child.error.message}` };
  try {
    return JSON.parse(child.stdout);
  } catch {
    return { available: false, reason: `python peer failed: ${child.stderr.trim().slice(0, 200)}` };
  }
}
