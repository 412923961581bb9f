/** Timestamps as stored: ISO-8601 UTC text, which sorts correctly in both dialects. */
export function nowIso(): string {
  return new Date().toISOString();
}
