/**
 * How commands print. A command's result goes to stdout — as text for people,
 * or with --json as one JSON document for scripts. Notes, warnings and errors go
 * to stderr in both modes, so stdout stays parseable.
 *
 * Nothing here knows about secrets: only `get` and `env` put values on stdout,
 * and they do it explicitly through `raw`.
 */
import { isLockboxError } from '@lockbox/core';

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export class Output {
  readonly json: boolean;
  readonly #streams: OutputStreams;

  constructor(json: boolean, streams: OutputStreams) {
    this.json = json;
    this.#streams = streams;
  }

  /** True when stdout is a terminal (for warnings before printing values). */
  get stdoutIsTTY(): boolean {
    return this.#streams.stdout.isTTY === true;
  }

  /** True when stderr is a terminal (progress bars draw only then). */
  get stderrIsTTY(): boolean {
    return this.#streams.stderr.isTTY === true;
  }

  /**
   * Prints a command's result: `data` as JSON with --json, otherwise the text
   * `render` returns (lines are joined with newlines; a final newline is added).
   */
  result<T>(data: T, render: (data: T) => string | readonly string[]): void {
    if (this.json) {
      this.#streams.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      return;
    }
    const text = render(data);
    const lines = typeof text === 'string' ? [text] : text;
    if (lines.length > 0) this.#streams.stdout.write(`${lines.join('\n')}\n`);
  }

  /** Writes bytes or text to stdout exactly as given (values from `get` and `env`). */
  raw(data: string | Uint8Array): void {
    this.#streams.stdout.write(data);
  }

  /** A note for the person at the terminal, on stderr. */
  note(message: string): void {
    this.#streams.stderr.write(`${message}\n`);
  }

  warn(message: string): void {
    this.#streams.stderr.write(`warning: ${message}\n`);
  }

  /** Prints an error as `error [CODE]: message`, or `{"error":{...}}` with --json. */
  error(code: string, message: string, details?: Record<string, unknown>): void {
    if (this.json) {
      const error = {
        code,
        message,
        ...(details && Object.keys(details).length ? { details } : {}),
      };
      this.#streams.stderr.write(`${JSON.stringify({ error })}\n`);
      return;
    }
    this.#streams.stderr.write(`error [${code}]: ${message}\n`);
  }

  /** Prints a LockboxError (its code, message and public details). */
  lockboxError(err: unknown): void {
    if (isLockboxError(err)) this.error(err.code, err.message, err.details);
  }
}

/**
 * Formats rows as aligned columns with a header line. Cells are plain strings;
 * the last column is not padded.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}
