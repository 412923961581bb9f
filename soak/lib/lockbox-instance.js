/**
 * One `lockbox serve` instance: a child process on a fixed port, started with a
 * configuration file and stopped with SIGTERM (the server's graceful shutdown:
 * in-flight requests finish, then the store closes). Restarting reuses the port,
 * as a supervisor would.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './free-ports.js';
import { keepAliveAgent, send } from './http-client.js';
import { LOCKBOX_MAIN, lockboxEnv } from './lockbox-cli.js';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

export class LockboxInstance {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  #child;
  /** @type {Promise<number | null> | undefined} */
  #exited;
  #probe = keepAliveAgent(1);
  /** Exit codes of earlier processes of this instance (a graceful stop is 0). */
  exitCodes = /** @type {(number | null)[]} */ ([]);
  starts = 0;

  /**
   * @param {{ name: string, port: number, cwd: string, logFile: string }} options
   */
  constructor(options) {
    this.name = options.name;
    this.port = options.port;
    this.cwd = options.cwd;
    this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  /**
   * Starts `lockbox serve` with this config and waits until /readyz says ready
   * (the store opened and the startup key check passed). Throws if the process
   * exits first — for example KEY_WRONG, when the keys open nothing.
   * @param {string} configFile
   * @returns {Promise<number>} milliseconds until ready
   */
  async start(configFile) {
    if (this.#child !== undefined) throw new Error(`${this.name} is already running`);
    const started = performance.now();
    this.starts += 1;
    this.log.write(`--- start ${this.starts} with ${configFile}\n`);
    const child = spawn(
      process.execPath,
      [LOCKBOX_MAIN, 'serve', '--port', String(this.port), '--log-level', 'warn'],
      { cwd: this.cwd, env: lockboxEnv(configFile), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(this.log, { end: false });
    child.stderr.pipe(this.log, { end: false });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = started + READY_TIMEOUT_MS;
    let exitCode;
    this.#exited.then((code) => {
      exitCode = code;
    });
    while (performance.now() < deadline) {
      if (exitCode !== undefined) {
        this.#child = undefined;
        throw new Error(`${this.name} exited with ${exitCode} before it was ready (see its log)`);
      }
      const reply = await send({
        agent: this.#probe,
        port: this.port,
        method: 'GET',
        path: '/readyz',
        timeoutMs: 2_000,
      });
      if (reply.status === 200) return performance.now() - started;
      await sleep(50);
    }
    throw new Error(`${this.name} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
  }

  /**
   * SIGTERM, then waits for the process to exit. Returns its exit code (0 for a
   * graceful shutdown).
   * @returns {Promise<number | null>}
   */
  async stop() {
    const child = this.#child;
    if (child === undefined || this.#exited === undefined) return null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const code = await this.#exited;
    clearTimeout(timer);
    this.#child = undefined;
    this.exitCodes.push(code);
    this.log.write(`--- exited with ${code}\n`);
    return code;
  }

  get running() {
    return this.#child !== undefined;
  }

  /** The process id of the running server (for the report). */
  get pid() {
    return this.#child?.pid;
  }

  close() {
    this.#probe.destroy();
    this.log.end();
  }
}

/**
 * `count` instances named instance-1…, each on a free port, working in `work`
 * and logging to work/instance-<n>.log (not started).
 *
 * @param {number} count
 * @param {string} work
 * @returns {Promise<LockboxInstance[]>}
 */
export async function instancesOnFreePorts(count, work) {
  const ports = await freePorts(count);
  return ports.map(
    (port, i) =>
      new LockboxInstance({
        name: `instance-${i + 1}`,
        port,
        cwd: work,
        logFile: join(work, `instance-${i + 1}.log`),
      }),
  );
}
