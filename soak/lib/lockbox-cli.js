/**
 * Runs the real `lockbox` command (the built packages/cli/dist/main.js) as a
 * child process, the way an operator would, with a configuration file named by
 * LOCKBOX_CONFIG and nothing else from the caller's LOCKBOX_* environment.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LOCKBOX_MAIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'main.js');

/** Exits with a clear message when the CLI has not been built. */
export function requireBuiltCli() {
  if (!existsSync(LOCKBOX_MAIN)) {
    console.error(`${LOCKBOX_MAIN} does not exist: run \`npm run build\` first.`);
    process.exit(2);
  }
}

/**
 * The environment a lockbox child gets: the caller's, minus every LOCKBOX_*
 * variable (a stray LOCKBOX_MASTER_KEY must not change which key is used), plus
 * the config file.
 * @param {string} configFile
 * @returns {NodeJS.ProcessEnv}
 */
export function lockboxEnv(configFile) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('LOCKBOX_')),
  );
  return { ...env, LOCKBOX_CONFIG: configFile };
}

/**
 * @typedef {object} CliResult
 * @property {number | null} code
 * @property {string} stdout
 * @property {string} stderr
 * @property {number} durationMs
 */

/**
 * Runs `lockbox <args>` to completion.
 * @param {readonly string[]} args
 * @param {{ configFile: string, cwd: string }} where
 * @returns {Promise<CliResult>}
 */
export function runLockbox(args, where) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOCKBOX_MAIN, ...args], {
      cwd: where.cwd,
      env: lockboxEnv(where.configFile),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout, stderr, durationMs: performance.now() - started }),
    );
  });
}

/**
 * Runs `lockbox --json <args>` and parses its output; throws with the command's
 * error output when it exits non-zero.
 * @param {readonly string[]} args
 * @param {{ configFile: string, cwd: string }} where
 */
export async function lockboxJson(args, where) {
  const result = await runLockbox(['--json', ...args], where);
  if (result.code !== 0) {
    throw new Error(
      `lockbox ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return { ...result, json: JSON.parse(result.stdout) };
}
