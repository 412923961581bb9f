/**
 * Spawning the real `lockbox` binary (packages/cli/dist/main.js; `npm test` builds
 * it first) in a temporary working directory with a controlled environment:
 * nothing LOCKBOX_* leaks in from the developer's shell.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DialectName, keyringFromConfig, type Lockbox, openLockbox } from '@lockbox/core';
import { drivers, freshDatabase, type TestDatabase } from '@lockbox/test-helpers';

/**
 * Suite options for tests that spawn the CLI several times: each spawn loads Node
 * and the core library, which takes seconds on a loaded CI machine.
 */
export const SPAWNING = { timeout: 180_000 } as const;

export const CLI_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed. Without it stdin is empty (closed at once). */
  input?: string | Buffer;
  /** The entry point to run instead of this checkout's build (an installed `lockbox`). */
  main?: string;
}

/** The environment every spawned CLI starts from: PATH and HOME, nothing else. */
export function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
  };
}

/** Starts the CLI; the caller waits with `finished(child)`. */
export function startCli(args: readonly string[], options: CliRunOptions): ChildProcess {
  const env: Record<string, string> = baseEnv();
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [options.main ?? CLI_MAIN, ...args], {
    cwd: options.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(options.input ?? '');
  return child;
}

export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function runCli(args: readonly string[], options: CliRunOptions): Promise<CliResult> {
  return finished(startCli(args, options));
}

/** A temporary working directory, removed by `cleanup`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lockbox-cli-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * An initialised store of `dialect`: a temp cwd, a fresh database, and the
 * environment that points the CLI at both (the key is in ./lockbox.key).
 */
export interface CliStore {
  dir: string;
  db: TestDatabase;
  env: Record<string, string>;
  /** Runs the CLI against this store. */
  run(args: readonly string[], options?: Omit<CliRunOptions, 'cwd'>): Promise<CliResult>;
  /** Opens the same store through the library (with the key init wrote), runs `use`, closes. */
  withLibrary<T>(use: (lockbox: Lockbox) => Promise<T>): Promise<T>;
  drop(): Promise<void>;
}

export async function initialisedStore(dialect: DialectName): Promise<CliStore> {
  const { dir, cleanup } = tempDir();
  const db = await freshDatabase(dialect);
  const env = { LOCKBOX_DATABASE: db.url };
  const run = (args: readonly string[], options: Omit<CliRunOptions, 'cwd'> = {}) =>
    runCli(args, { ...options, cwd: dir, env: { ...env, ...options.env } });
  const init = await run(['init']);
  if (init.code !== 0) throw new Error(`lockbox init failed: ${init.stderr}`);
  return {
    dir,
    db,
    env,
    run,
    withLibrary: async (use) => {
      const lockbox = await openDirect({ dir, db });
      try {
        return await use(lockbox);
      } finally {
        await lockbox.close();
      }
    },
    drop: async () => {
      await db.drop();
      cleanup();
    },
  };
}

/** The store a CLI test initialised, opened in-process with the key init wrote (the caller closes it). */
export async function openDirect(store: Pick<CliStore, 'dir' | 'db'>): Promise<Lockbox> {
  const keyring = await keyringFromConfig({ primaryFile: join(store.dir, 'lockbox.key') });
  return openLockbox({ database: store.db.url, drivers, keyring, mode: 'open' });
}
