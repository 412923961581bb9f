/**
 * The secret form's metadata field: empty means "no metadata"; anything else
 * must be a JSON object (the API stores an object or null, nothing else).
 */
import type { Metadata } from '../api/api-types.js';

export type ParsedMetadata = { ok: true; metadata: Metadata | undefined } | { ok: false };

export function parseMetadata(text: string): ParsedMetadata {
  if (text.trim() === '') return { ok: true, metadata: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false };
  return { ok: true, metadata: parsed as Record<string, unknown> };
}
