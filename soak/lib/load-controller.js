/**
 * The parent's handle on the load generator process (load-generator.js): start
 * it, tag its requests with the current phase, drain and restore instances
 * around a restart, and stop it to collect its figures.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './lockbox-cli.js';

const GENERATOR = join(REPO_ROOT, 'soak', 'lib', 'load-generator.js');

export class LoadController {
  /** @type {import('node:child_process').ChildProcess} */
  #child;
  /** @type {Map<string, (message: any) => void>} */
  #waiting = new Map();
  /** @type {(message: any) => void} */
  onTick = () => undefined;

  constructor() {
    this.#child = fork(GENERATOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (/** @type {any} */ message) => {
      if (message.type === 'tick') {
        this.onTick(message);
        return;
      }
      const key = message.type === 'drained' ? `drained:${message.instance}` : message.type;
      const resolve = this.#waiting.get(key);
      this.#waiting.delete(key);
      resolve?.(message);
    });
    this.#child.on('exit', (code) => {
      for (const [key, resolve] of this.#waiting) {
        resolve({ type: 'exit', key, code });
      }
      this.#waiting.clear();
    });
  }

  /** @param {string} key @returns {Promise<any>} */
  #next(key) {
    return new Promise((resolve) => this.#waiting.set(key, resolve));
  }

  /**
   * @param {{ ports: number[], token: string, workers: number, readRatio: number,
   *           phase: string, secrets: { scope: string, name: string, value: string, version: number }[] }} start
   */
  async start(start) {
    const started = this.#next('started');
    this.#child.send({ type: 'start', ...start });
    await started;
  }

  /** @param {string} name */
  phase(name) {
    this.#child.send({ type: 'phase', name });
  }

  /**
   * Takes an instance out of rotation; resolves once its in-flight requests are done.
   * @param {number} instance
   * @returns {Promise<{ waitedMs: number }>}
   */
  drain(instance) {
    const drained = this.#next(`drained:${instance}`);
    this.#child.send({ type: 'drain', instance });
    return drained;
  }

  /** @param {number} instance */
  undrain(instance) {
    this.#child.send({ type: 'undrain', instance });
  }

  /** Stops the load (in-flight requests finish) and returns the generator's figures. */
  async stop() {
    const result = this.#next('result');
    this.#child.send({ type: 'stop' });
    const message = await result;
    if (message.type !== 'result') throw new Error(`the load generator exited (${message.code})`);
    return message;
  }

  close() {
    if (this.#child.connected) this.#child.disconnect();
  }
}
