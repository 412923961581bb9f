/**
 * The import size guard: a bundle larger than the server accepts is refused in
 * the browser before a byte is read or sent, with a message that says the limit.
 * The server enforces its own limit too; this spares the upload and says why early.
 */

/** The server's default import body limit (DEFAULT_IMPORT_BODY_LIMIT, 64 MiB). */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

export type SizeCheck = { ok: true } | { ok: false; reason: 'empty' | 'too-large'; limit: number };

export function checkFileSize(size: number, limit: number = MAX_IMPORT_BYTES): SizeCheck {
  if (size <= 0) return { ok: false, reason: 'empty', limit };
  if (size > limit) return { ok: false, reason: 'too-large', limit };
  return { ok: true };
}

/** Bytes in binary units for people: "512 B", "1.5 KiB", "64 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 10 ? String(Math.round(value)) : value.toFixed(1);
  return `${text.replace(/\.0$/, '')} ${units[unit]}`;
}
