/**
 * Periodic audit anchors from `lockbox serve`: a MACed copy of the audit head
 * (docs/format.md), written to the server's log and, when a file is named, to
 * that file — so a later `lockbox audit verify --anchor` can tell a log whose
 * tail was deleted (and an older head put back) from an intact one.
 *
 * Contracts: the first anchor is written once the lockbox is ready, then one per
 * interval; an empty log writes none. The file is replaced atomically (a 0600
 * temporary file beside it, fsynced, renamed over it), so a reader sees the old
 * anchor or the new one, never a part, and the file is never readable by others,
 * not even for an instant. A failure is logged and the next interval tries again:
 * anchoring never stops the server.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { formatAnchor } from '@lockbox/core';
import type { FastifyBaseLogger } from 'fastify';
import type { ServerLockbox } from './server-context.js';

export interface AuditAnchorOptions {
  /** Milliseconds between anchors (default one hour). */
  intervalMs?: number;
  /** Also write each anchor to this file (0600, replaced atomically). */
  file?: string;
}

export const DEFAULT_ANCHOR_INTERVAL_MS = 3_600_000;

/** Writes `text` to `path` atomically, the file 0600 from its first byte. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
}

export class AuditAnchorWriter {
  readonly #lockbox: () => ServerLockbox | undefined;
  readonly #log: FastifyBaseLogger;
  readonly #options: AuditAnchorOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(
    lockbox: () => ServerLockbox | undefined,
    log: FastifyBaseLogger,
    options: AuditAnchorOptions,
  ) {
    this.#lockbox = lockbox;
    this.#log = log;
    this.#options = options;
  }

  /** Writes one anchor now, then one per interval until `stop`. */
  start(): void {
    this.#tick();
    this.#timer = setInterval(
      () => this.#tick(),
      this.#options.intervalMs ?? DEFAULT_ANCHOR_INTERVAL_MS,
    );
    this.#timer.unref();
  }

  /** Stops the interval and waits for an anchor being written. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #tick(): void {
    this.#running = this.#running.then(() => this.writeOnce());
  }

  /** Writes one anchor; resolves (never rejects) once done or logged as failed. */
  async writeOnce(): Promise<void> {
    const lockbox = this.#lockbox();
    if (lockbox === undefined) return;
    try {
      const anchor = await lockbox.audit.anchor();
      if (anchor === null) return;
      const text = formatAnchor(anchor);
      this.#log.info({ auditAnchor: text }, 'audit anchor');
      if (this.#options.file !== undefined) {
        await writeFileAtomically(this.#options.file, `${text}\n`);
      }
    } catch (err) {
      this.#log.error({ err }, 'could not write an audit anchor');
    }
  }
}
