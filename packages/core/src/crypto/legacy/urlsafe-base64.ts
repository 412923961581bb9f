/**
 * Strict URL-safe base64 decoding for the legacy readers.
 *
 * Legacy values arrive both padded (Python's `base64.urlsafe_b64encode`, which
 * Fernet uses) and unpadded (values that went through URLs or JSON tooling), so
 * both are accepted. Everything else is refused: characters outside the URL-safe
 * alphabet, whitespace, misplaced or excess padding, a length no encoder writes,
 * and non-zero unused bits in the last character (which Node would silently
 * ignore, giving one byte string several text forms).
 */

const URLSAFE = /^[A-Za-z0-9_-]*$/;

/** The decoded bytes, or undefined when `text` is not canonical URL-safe base64. */
export function decodeUrlsafeBase64(text: string): Buffer | undefined {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const body = text.slice(0, text.length - padding);
  if (padding > 0 && text.length % 4 !== 0) return undefined;
  if (!URLSAFE.test(body) || body.length % 4 === 1) return undefined;
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.toString('base64url') !== body) return undefined;
  return bytes;
}

/** URL-safe base64 with '=' padding, as Python's `base64.urlsafe_b64encode` writes it. */
export function encodePaddedUrlsafeBase64(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
  return text.padEnd(Math.ceil(text.length / 4) * 4, '=');
}
