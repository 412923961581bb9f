/**
 * Reading JSON lines from a stream of decrypted bytes, with limits, for bundles
 * and snapshots.
 *
 * Contracts:
 * - Lines split on LF at the byte level; each line must be valid UTF-8 and at
 *   most `maxLineBytes` long (BUNDLE_TOO_LARGE otherwise, before the line is
 *   buffered whole). Blank lines are skipped; a trailing CR is allowed.
 * - Memory is bounded by one line plus one input chunk, whatever the stream's size.
 * - Errors never quote a line: a line may hold a secret value. They give the line
 *   number. (JSON.parse's own messages quote their input, so they are dropped.)
 */
import { LockboxError } from '../errors.js';

export interface JsonLine {
  /** 1-based line number in the decrypted document. */
  number: number;
  value: Record<string, unknown>;
}

export function malformed(line: number, problem: string): LockboxError {
  return new LockboxError('BUNDLE_MALFORMED', `line ${line}: ${problem}`, { details: { line } });
}

const LF = 0x0a;

/** Parses one line as a JSON object; BUNDLE_MALFORMED (never quoting the line) otherwise. */
function parseObject(text: string, number: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(number, 'not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(number, 'not a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Yields each non-blank line of `chunks` as a parsed JSON object. Throws
 * BUNDLE_TOO_LARGE for a line over `maxLineBytes`, BUNDLE_MALFORMED for invalid
 * UTF-8 or JSON; errors of `chunks` itself pass through.
 */
export async function* readJsonLines(
  chunks: AsyncIterable<Uint8Array>,
  maxLineBytes: number,
): AsyncGenerator<JsonLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let number = 0;

  const emit = (parts: Uint8Array[]): JsonLine | undefined => {
    number += 1;
    const bytes = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw malformed(number, 'not valid UTF-8');
    }
    if (text.trim() === '') return undefined;
    return { number, value: parseObject(text, number) };
  };
  const tooLong = () =>
    new LockboxError(
      'BUNDLE_TOO_LARGE',
      `line ${number + 1} is longer than the limit of ${maxLineBytes} bytes`,
      { details: { line: number + 1, limit: maxLineBytes } },
    );

  for await (const chunk of chunks) {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(LF, start);
      if (end === -1) {
        const rest = chunk.subarray(start);
        pendingBytes += rest.length;
        if (pendingBytes > maxLineBytes) throw tooLong();
        // Copy: the producer may reuse its buffer for the next chunk.
        pending.push(Uint8Array.from(rest));
        break;
      }
      const piece = chunk.subarray(start, end);
      if (pendingBytes + piece.length > maxLineBytes) throw tooLong();
      const line = emit([...pending, piece]);
      pending = [];
      pendingBytes = 0;
      if (line !== undefined) yield line;
      start = end + 1;
    }
  }
  if (pendingBytes > 0) {
    const line = emit(pending);
    if (line !== undefined) yield line;
  }
}

/**
 * Checks that `object` has only `allowed` keys and all `required` ones; the
 * message names the field, which is part of the format, never a value.
 */
export function checkFields(
  object: Record<string, unknown>,
  line: number,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): void {
  for (const field of required) {
    if (!(field in object)) throw malformed(line, `${what} has no "${field}" field`);
  }
  const allowed = new Set([...required, ...optional]);
  for (const field of Object.keys(object)) {
    if (!allowed.has(field)) throw malformed(line, `${what} has an unknown field "${field}"`);
  }
}

export function requireString(
  object: Record<string, unknown>,
  field: string,
  line: number,
): string {
  const value = object[field];
  if (typeof value !== 'string') throw malformed(line, `"${field}" must be a string`);
  return value;
}

export function optionalString(
  object: Record<string, unknown>,
  field: string,
  line: number,
): string | undefined {
  return object[field] === undefined || object[field] === null
    ? undefined
    : requireString(object, field, line);
}

export function requireCount(object: Record<string, unknown>, field: string, line: number): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(line, `"${field}" must be a non-negative integer`);
  }
  return value;
}

/** An ISO-8601 timestamp (as Lockbox stores them); BUNDLE_MALFORMED otherwise. */
export function optionalTimestamp(
  object: Record<string, unknown>,
  field: string,
  line: number,
): string | undefined {
  const value = optionalString(object, field, line);
  if (value !== undefined && Number.isNaN(Date.parse(value))) {
    throw malformed(line, `"${field}" is not an ISO-8601 timestamp`);
  }
  return value;
}

/** Encodes one JSON-lines line. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
