/**
 * A stream transform that replaces secret values with `<redacted:NAME>`, for
 * `lockbox run --mask`.
 *
 * A value split across two writes is still caught: bytes that could be the start
 * of a value are held back until the next chunk shows whether they are (at most
 * the longest value's length minus one byte is ever held). Where values overlap,
 * the longest match wins. Matching is on exact bytes, so a value the child
 * transforms (encodes, escapes, prints in pieces far apart) is not recognised;
 * masking is a guard against accidents, not against a hostile child.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface MaskedValue {
  /** Shown in the replacement: `<redacted:NAME>`. */
  name: string;
  value: string | Uint8Array;
}

interface Pattern {
  bytes: Buffer;
  replacement: Buffer;
}

/** True when `data[at..]` (running to its end) is a proper prefix of `pattern`. */
function isProperPrefixAt(data: Buffer, at: number, pattern: Buffer): boolean {
  const remaining = data.length - at;
  if (remaining >= pattern.length) return false;
  return data.compare(pattern, 0, remaining, at, data.length) === 0;
}

function matchesAt(data: Buffer, at: number, pattern: Buffer): boolean {
  if (data.length - at < pattern.length) return false;
  return data.compare(pattern, 0, pattern.length, at, at + pattern.length) === 0;
}

export class MaskStream extends Transform {
  readonly #patterns: Pattern[];
  readonly #firstBytes: Set<number>;
  #held: Buffer = Buffer.alloc(0);

  constructor(values: readonly MaskedValue[]) {
    super();
    this.#patterns = values
      .map((v) => ({
        bytes: Buffer.from(v.value),
        replacement: Buffer.from(`<redacted:${v.name}>`),
      }))
      .filter((p) => p.bytes.length > 0)
      // Longest first, so a value that contains another is replaced whole.
      .sort((a, b) => b.bytes.length - a.bytes.length);
    this.#firstBytes = new Set(this.#patterns.map((p) => p.bytes[0] as number));
  }

  /**
   * Masks `data` and returns the safe output; with `final` false, a tail that
   * could still grow into a value is kept in #held instead of emitted.
   */
  #mask(data: Buffer, final: boolean): Buffer {
    const out: Buffer[] = [];
    let runStart = 0;
    let i = 0;
    while (i < data.length) {
      if (!this.#firstBytes.has(data[i] as number)) {
        i += 1;
        continue;
      }
      if (!final && this.#patterns.some((p) => isProperPrefixAt(data, i, p.bytes))) {
        // A longer value may still be arriving; decide when more bytes come.
        out.push(data.subarray(runStart, i));
        this.#held = Buffer.from(data.subarray(i));
        return Buffer.concat(out);
      }
      const match = this.#patterns.find((p) => matchesAt(data, i, p.bytes));
      if (match === undefined) {
        i += 1;
        continue;
      }
      out.push(data.subarray(runStart, i), match.replacement);
      i += match.bytes.length;
      runStart = i;
    }
    out.push(data.subarray(runStart));
    this.#held = Buffer.alloc(0);
    return Buffer.concat(out);
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const data = this.#held.length === 0 ? bytes : Buffer.concat([this.#held, bytes]);
    const safe = this.#mask(data, false);
    if (safe.length > 0) this.push(safe);
    done();
  }

  override _flush(done: TransformCallback) {
    const safe = this.#mask(this.#held, true);
    if (safe.length > 0) this.push(safe);
    done();
  }
}
