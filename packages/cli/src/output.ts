/**
 * How commands print. A command's result goes to stdout — as text for people,
 * or with --json as one JSON document for scripts. Notes, warnings and errors go
 * to stderr in both modes, so stdout stays parseable.
 *
 * Nothing here knows about secrets: only `get` and `env` put values on stdout,
 * and they do it explicitly through `raw`.
 *
 * Everything else passes through terminalSafe (text) or jsonSafe (--json): names,
 * scopes, registrations and messages can come from the database, whose writer
 * may have planted terminal escapes (an ANSI sequence that clears the screen
 * and prints a fake line). Control characters are shown as visible escapes.
 */
import { isLockboxError } from '@lockbox/core';

/** C0 controls but newline, DEL, C1 controls, line/paragraph separators and bidi controls. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_WITH_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Text a terminal shows as text: every control character (ESC, CR, BS, C1 CSI,
 * bidi overrides, …) becomes a visible `\xNN` / `\uNNNN`. Newlines are kept
 * unless `singleLine` (a table cell or a name must not start a new line).
 */
export function terminalSafe(text: string, singleLine = false): string {
  return text.replace(singleLine ? UNSAFE_WITH_NEWLINE : UNSAFE, visible);
}

/**
 * JSON.stringify escapes C0 controls but not DEL, C1 (0x9b is a CSI on some
 * terminals) or bidi controls; this escapes those too. The result is the same
 * JSON value.
 */
export function jsonSafe(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

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
      this.#streams.stdout.write(`${jsonSafe(JSON.stringify(data, null, 2))}\n`);
      return;
    }
    const text = render(data);
    const lines = typeof text === 'string' ? [text] : text;
    if (lines.length > 0) this.#streams.stdout.write(`${terminalSafe(lines.join('\n'))}\n`);
  }

  /** Writes bytes or text to stdout exactly as given (values from `get` and `env`). */
  raw(data: string | Uint8Array): void {
    this.#streams.stdout.write(data);
  }

  /** A note for the person at the terminal, on stderr. */
  note(message: string): void {
    this.#streams.stderr.write(`${terminalSafe(message)}\n`);
  }

  warn(message: string): void {
    this.#streams.stderr.write(`warning: ${terminalSafe(message)}\n`);
  }

  /** Prints an error as `error [CODE]: message`, or `{"error":{...}}` with --json. */
  error(code: string, message: string, details?: Record<string, unknown>): void {
    if (this.json) {
      const error = {
        code,
        message,
        ...(details && Object.keys(details).length ? { details } : {}),
      };
      this.#streams.stderr.write(`${jsonSafe(JSON.stringify({ error }))}\n`);
      return;
    }
    this.#streams.stderr.write(`error [${terminalSafe(code)}]: ${terminalSafe(message)}\n`);
  }

  /** Prints a LockboxError (its code, message and public details). */
  lockboxError(err: unknown): void {
    if (isLockboxError(err)) this.error(err.code, err.message, err.details);
  }
}

/**
 * Formats rows as aligned columns with a header line. Cells are plain strings,
 * made single-line and terminal-safe; the last column is not padded.
 */
export function formatTable(
  headers: readonly string[],
  cells: readonly (readonly string[])[],
): string[] {
  const rows = cells.map((row) => row.map((cell) => terminalSafe(cell, true)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}
