/**
 * The JSON body parser: Fastify's own (prototype-poisoning protection
 * included), with three checks in front so no text is altered or crashes it.
 *
 * - The bytes must be valid UTF-8 (TEXT_INVALID): a lenient decode would turn
 *   them into U+FFFD and store a different credential than the client sent.
 * - Nesting is at most MAX_JSON_DEPTH, counted on the raw text before parsing
 *   (REQUEST_INVALID): every recursive walk after JSON.parse (validation,
 *   stringify) would otherwise overflow the stack on a deep body and answer 500.
 * - No string or key may hold a lone surrogate, which a "\ud800" escape makes
 *   (TEXT_INVALID): it has no UTF-8 form and would be stored as U+FFFD.
 */
import { decodeUtf8Strict, isWellFormedText, LockboxError } from '@lockbox/core';
import type { FastifyInstance } from 'fastify';

/** Levels of objects and arrays a request body may nest (metadata alone allows 16). */
export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of `text`, counting brackets outside strings; stops past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

/** Throws TEXT_INVALID at the first string or key with a lone surrogate (depth is bounded). */
function assertWellFormedJson(value: unknown): void {
  const pending: unknown[] = [value];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if (typeof item === 'string') {
      if (!isWellFormedText(item)) throw loneSurrogate();
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        if (!isWellFormedText(key)) throw loneSurrogate();
        pending.push(child);
      }
    }
  }
}

function loneSurrogate(): LockboxError {
  return new LockboxError(
    'TEXT_INVALID',
    'the request body holds a string with a lone surrogate (not valid Unicode); nothing was stored',
  );
}

export function installStrictJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decodeUtf8Strict('the request body', body as Buffer);
      if (nestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
        throw new LockboxError(
          'REQUEST_INVALID',
          `the request body is nested more than ${MAX_JSON_DEPTH} levels deep`,
        );
      }
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    parse(request, text, (err, parsed) => {
      if (err !== null) {
        done(err, undefined);
        return;
      }
      try {
        assertWellFormedJson(parsed);
      } catch (invalid) {
        done(invalid as Error, undefined);
        return;
      }
      done(null, parsed);
    });
  });
}
