/**
 * Where the backup commands (export, import, snapshot, restore) get their age
 * settings and move their bytes.
 *
 * Contracts:
 * - Only age ciphertext is ever written: a bundle goes to a 0600 temporary file
 *   beside the target, fsynced, and linked into place when complete (rename with
 *   --force), or removed on failure — a half-written bundle never appears under
 *   the final name. An existing file is refused (FILE_EXISTS) unless --force,
 *   also one that appears while the bundle is written.
 * - A bundle is never written to a terminal (INVALID_ARGUMENT): binary on a
 *   screen helps nobody.
 * - Passphrases come from stdin (prompted without echo on a terminal) or from a
 *   named environment variable, never from an argument (shell history, `ps`).
 * - Identity files are read as secret files: one that group or others can read is
 *   refused (KEY_FILE_INSECURE), as ssh refuses a loose private key.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import {
  type AgeDecryption,
  type AgeEncryption,
  LockboxError,
  parseAgeRecipient,
  readSecretFile,
} from '@lockbox/core';
import type { Command } from 'commander';
import type { Invocation } from './context.js';

export interface EncryptionFlags {
  recipient?: string[];
  recipientFile?: string[];
  passphraseStdin?: boolean;
  passphraseEnv?: string;
}

export interface DecryptionFlags {
  identity?: string[];
  passphraseStdin?: boolean;
  passphraseEnv?: string;
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

/** Adds --recipient, --recipient-file, --passphrase-stdin and --passphrase-env. */
export function encryptionOptions(command: Command): Command {
  return command
    .option(
      '-r, --recipient <age1…>',
      'encrypt to this age X25519 recipient (repeatable)',
      repeatable,
    )
    .option(
      '-R, --recipient-file <path>',
      'encrypt to the recipients listed in this file (repeatable)',
      repeatable,
    )
    .option(
      '--passphrase-stdin',
      'encrypt to a passphrase read from stdin (prompted on a terminal)',
    )
    .option('--passphrase-env <name>', 'encrypt to the passphrase in this environment variable');
}

/** Adds --identity, --passphrase-stdin and --passphrase-env. */
export function decryptionOptions(command: Command): Command {
  return command
    .option(
      '-i, --identity <path>',
      'an age identity file (0600) that opens the file (repeatable)',
      repeatable,
    )
    .option('--passphrase-stdin', 'the passphrase, read from stdin (prompted on a terminal)')
    .option('--passphrase-env <name>', 'the passphrase, from this environment variable');
}

async function passphrase(
  flags: { passphraseStdin?: boolean; passphraseEnv?: string },
  invocation: Invocation,
): Promise<string> {
  if (flags.passphraseStdin === true) {
    const bytes = await invocation.readSecret('the passphrase', { prompt: true, maxBytes: 4096 });
    try {
      return bytes.toString('utf8');
    } finally {
      bytes.fill(0);
    }
  }
  const name = flags.passphraseEnv as string;
  const value = invocation.io.env[name];
  if (value === undefined || value === '') {
    throw new LockboxError(
      'INVALID_ARGUMENT',
      `the environment variable ${name} is not set or empty`,
      {
        details: { variable: name },
      },
    );
  }
  return value;
}

function exactlyOne(kinds: number, what: string): void {
  if (kinds !== 1) {
    throw new LockboxError('INVALID_ARGUMENT', `give exactly one of ${what}`);
  }
}

/** Reads an age recipients file: one `age1…` per line, `#` comments and blank lines ignored. */
async function readRecipientFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new LockboxError('PATH_INVALID', `recipients file ${path} cannot be read`, {
      details: { path },
    });
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => parseAgeRecipient(line));
}

export async function encryptionFrom(
  flags: EncryptionFlags,
  invocation: Invocation,
): Promise<AgeEncryption> {
  const toRecipients = (flags.recipient?.length ?? 0) + (flags.recipientFile?.length ?? 0) > 0;
  const kinds = [
    toRecipients,
    flags.passphraseStdin === true,
    flags.passphraseEnv !== undefined,
  ].filter(Boolean).length;
  exactlyOne(kinds, '--recipient/--recipient-file, --passphrase-stdin and --passphrase-env');
  if (!toRecipients) return { passphrase: await passphrase(flags, invocation) };
  const recipients = (flags.recipient ?? []).map((r) => parseAgeRecipient(r));
  for (const file of flags.recipientFile ?? []) {
    recipients.push(...(await readRecipientFile(resolve(invocation.io.cwd, file))));
  }
  if (recipients.length === 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'the recipients file lists no recipient');
  }
  return { recipients };
}

export async function decryptionFrom(
  flags: DecryptionFlags,
  invocation: Invocation,
): Promise<AgeDecryption> {
  const withIdentity = (flags.identity?.length ?? 0) > 0;
  const kinds = [
    withIdentity,
    flags.passphraseStdin === true,
    flags.passphraseEnv !== undefined,
  ].filter(Boolean).length;
  exactlyOne(kinds, '--identity, --passphrase-stdin and --passphrase-env');
  if (!withIdentity) return { passphrase: await passphrase(flags, invocation) };
  const identities: string[] = [];
  for (const file of flags.identity ?? []) {
    const bytes = await readSecretFile(resolve(invocation.io.cwd, file));
    try {
      identities.push(bytes.toString('utf8'));
    } finally {
      bytes.fill(0);
    }
  }
  return { identities };
}

export interface BundleInput {
  stream: ReadableStream<Uint8Array>;
  /** Bytes in the file, when known (for a progress bar). */
  size?: number;
  /** For messages: the path, or "stdin". */
  name: string;
}

/** Opens FILE, or stdin for "-". Throws PATH_INVALID when the file cannot be read. */
export async function openInput(
  file: string,
  invocation: Invocation,
  flags: { passphraseStdin?: boolean },
): Promise<BundleInput> {
  if (file === '-') {
    if (flags.passphraseStdin === true || invocation.globals.masterKeyStdin === true) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'stdin already carries a key or passphrase; give the bundle as a file',
      );
    }
    return {
      stream: Readable.toWeb(invocation.io.stdin) as ReadableStream<Uint8Array>,
      name: 'stdin',
    };
  }
  const path = resolve(invocation.io.cwd, file);
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    throw new LockboxError('PATH_INVALID', `${path} is not a readable file`, { details: { path } });
  }
  return {
    stream: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
    size,
    name: path,
  };
}

export interface BundleOutput {
  sink: WritableStream<Uint8Array>;
  /** The final path, or undefined for stdout. */
  path: string | undefined;
  /** Moves the finished file into place (no-op for stdout). */
  commit(): Promise<void>;
  /** Removes the partial file (no-op for stdout). */
  discard(): Promise<void>;
}

/** A WritableStream over a Node stream that honours backpressure and never ends it. */
function writableTo(stream: NodeJS.WritableStream): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise<void>((done, fail) => {
        const onError = (err: Error) => fail(err);
        stream.once('error', onError);
        const flushed = stream.write(chunk, () => {
          stream.off('error', onError);
          if (flushed) done();
        });
        if (!flushed) stream.once('drain', () => done());
      });
    },
  });
}

/**
 * Where a bundle or snapshot goes: FILE (atomically, 0600) or stdout. Throws
 * INVALID_ARGUMENT for a terminal stdout, FILE_EXISTS for an existing FILE without force.
 */
export async function openOutput(
  file: string | undefined,
  invocation: Invocation,
  options: { force?: boolean },
): Promise<BundleOutput> {
  if (file === undefined || file === '-') {
    if (invocation.io.stdout.isTTY === true) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        'refusing to write an encrypted bundle to a terminal; use --output FILE or redirect stdout',
      );
    }
    return {
      sink: writableTo(invocation.io.stdout),
      path: undefined,
      commit: async () => undefined,
      discard: async () => undefined,
    };
  }
  const path = resolve(invocation.io.cwd, file);
  const exists = async () =>
    lstat(path).then(
      () => true,
      () => false,
    );
  if (options.force !== true && (await exists())) {
    throw new LockboxError('FILE_EXISTS', `${path} already exists; pass --force to replace it`, {
      details: { path },
    });
  }
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': the temporary name is fresh; never write through something already there.
  const stream = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
  await new Promise<void>((ready, fail) => {
    stream.once('open', () => ready());
    stream.once('error', () =>
      fail(
        new LockboxError('PATH_INVALID', `cannot create a file in ${dirname(path)}`, {
          details: { path },
        }),
      ),
    );
  });
  const sink = new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise<void>((done, fail) => {
        stream.write(chunk, (err) => (err ? fail(err) : done()));
      }),
    close: () =>
      new Promise<void>((done, fail) => {
        stream.once('error', fail);
        stream.end(() => done());
      }),
    abort: () =>
      new Promise<void>((done) => {
        stream.once('close', () => done());
        stream.destroy();
      }),
  });
  return {
    sink,
    path,
    commit: async () => {
      // Durable before it gets its name: a crash never leaves a short bundle at `path`.
      const handle = await open(temp, 'r');
      await handle.sync().finally(() => handle.close());
      if (options.force === true) {
        await rename(temp, path);
        return;
      }
      // link() gives the finished file its name only if nothing has that name,
      // atomically: a file created at `path` since the check above (by anyone)
      // is never replaced, as an exists-then-rename would.
      try {
        await link(temp, path);
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new LockboxError(
            'FILE_EXISTS',
            `${path} appeared while writing; nothing was replaced`,
            { details: { path } },
          );
        }
        throw new LockboxError('PATH_INVALID', `cannot create ${path}`, {
          details: { path },
          cause: err,
        });
      }
      // The bundle is in place under both names; dropping the temporary one
      // cannot fail in a way that un-commits it.
      await unlink(temp).catch(() => undefined);
    },
    discard: async () => {
      if (!stream.destroyed) {
        await new Promise<void>((done) => {
          stream.once('close', () => done());
          stream.destroy();
        });
      }
      await unlink(temp).catch(() => undefined);
    },
  };
}

/** Runs `write` against `output`, committing on success and discarding on failure. */
export async function writeTo<T>(
  output: BundleOutput,
  write: (sink: WritableStream<Uint8Array>) => Promise<T>,
): Promise<T> {
  let result: T;
  try {
    result = await write(output.sink);
  } catch (err) {
    await output.discard();
    throw err;
  }
  await output.commit();
  return result;
}

/** Parses a size like 512M, 2G, 1048576 (bytes). */
export function parseSize(text: string): number {
  const match = /^(\d+)([KMG]i?B?)?$/i.exec(text.trim());
  if (match === null) {
    throw new LockboxError('INVALID_ARGUMENT', `"${text}" is not a size (for example 512M or 1G)`);
  }
  const unit = (match[2] ?? '').toUpperCase().charAt(0);
  const factor = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(match[1]) * factor;
}
