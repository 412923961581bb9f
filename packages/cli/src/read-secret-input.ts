/**
 * Reading a secret (a value, a key) from stdin, so it never appears in shell
 * history or `ps`.
 *
 * Exactly one trailing newline is stripped (`echo value |` and here-strings add
 * one); everything else, including further newlines, is the value. A terminal on
 * stdin is refused with a hint unless the caller allows a prompt, which then
 * reads one line without echo.
 */
import { LockboxError } from '@lockbox/core';
import { terminalSafe } from './output.js';

export interface SecretInputOptions {
  /** What is read, for the prompt and errors (for example "the value of prod/db-password"). */
  what: string;
  /** Prompt without echo when stdin is a terminal (otherwise a terminal is refused). */
  prompt?: boolean;
  /** Refuse input larger than this many bytes (VALUE_TOO_LARGE). Default 1 MiB. */
  maxBytes?: number;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WritableStream;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Returns `bytes` without exactly one trailing "\n" (or "\r\n"); a view, not a copy. */
export function stripOneNewline(bytes: Buffer): Buffer {
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0a) {
    const end = bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d ? 2 : 1;
    return bytes.subarray(0, bytes.length - end);
  }
  return bytes;
}

async function readAll(stdin: NodeJS.ReadStream, what: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > maxBytes + 2) {
      for (const c of chunks) c.fill(0);
      throw new LockboxError(
        'VALUE_TOO_LARGE',
        `${what} on stdin is larger than ${maxBytes} bytes`,
      );
    }
    chunks.push(buffer);
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return all;
}

/** Reads one line from a terminal with echo off. Ctrl-C cancels (INVALID_ARGUMENT). */
function promptHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WritableStream, what: string) {
  return new Promise<Buffer>((resolvePromise, reject) => {
    const typed: number[] = [];
    stderr.write(`Enter ${terminalSafe(what, true)} (input is hidden): `);
    stdin.setRawMode(true);
    stdin.resume();
    const done = (error?: LockboxError) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (error) reject(error);
      else resolvePromise(Buffer.from(typed));
      typed.fill(0);
    };
    const onData = (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0x0d || byte === 0x0a || byte === 0x04) return done();
        if (byte === 0x03) return done(new LockboxError('INVALID_ARGUMENT', 'cancelled'));
        if (byte === 0x7f || byte === 0x08) typed.pop();
        else typed.push(byte);
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * Reads a secret from stdin. Throws INVALID_ARGUMENT when stdin is a terminal and
 * `prompt` is not set, VALUE_TOO_LARGE past `maxBytes`. The caller owns (and
 * should zero) the returned buffer.
 */
export async function readSecretInput(options: SecretInputOptions): Promise<Buffer> {
  const stdin = options.stdin ?? process.stdin;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (stdin.isTTY === true) {
    if (options.prompt !== true) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `reading ${options.what} from stdin, but stdin is a terminal; pipe it in (for example \`lockbox set SCOPE NAME < file\`) or add --prompt to type it without echo`,
      );
    }
    return promptHidden(stdin, options.stderr ?? process.stderr, options.what);
  }
  return stripOneNewline(await readAll(stdin, options.what, maxBytes));
}
