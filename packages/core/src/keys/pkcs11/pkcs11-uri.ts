/**
 * RFC 7512 PKCS#11 URIs naming a master key on a token:
 *
 *   pkcs11:token=lockbox;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
 *
 * Lockbox accepts a strict subset, because a URI often comes from configuration
 * an attacker may influence and an attribute silently ignored would widen what
 * the URI matches. Path attributes: `token` and `object` (both required),
 * `type` (only `secret-key`), `serial`. Query attributes: `module-path`
 * (required, absolute) and `pin-source` (`file:/absolute/path` or
 * `env:VARIABLE`). Anything else — unknown or repeated attributes, `pin-value`
 * (a PIN in a URI ends up in process lists and logs), a fragment, control
 * characters, bad percent-encoding, over 2,048 characters — is KEY_URI_INVALID,
 * whose message names the attribute and never echoes a value.
 */
import { isAbsolute, normalize } from 'node:path';
import { LockboxError } from '../../errors.js';

export const PKCS11_URI_MAX_CHARS = 2048;

export type PinSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly variable: string };

export interface Pkcs11Uri {
  readonly token: string;
  readonly object: string;
  readonly serial?: string;
  readonly modulePath: string;
  readonly pinSource?: PinSource;
  /** `pkcs11:token=…;object=…`: names the key without module or PIN source, for messages and status. */
  readonly display: string;
}

const PATH_ATTRIBUTES = new Set(['token', 'object', 'type', 'serial']);
const QUERY_ATTRIBUTES = new Set(['module-path', 'pin-source']);
// Token and object labels are at most 32 UTF-8 bytes in CK_TOKEN_INFO; objects may be longer.
const MAX_LABEL_BYTES = 255;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(message: string, attribute?: string): LockboxError {
  return new LockboxError('KEY_URI_INVALID', `PKCS#11 key URI: ${message}`, {
    details: attribute === undefined ? {} : { attribute },
  });
}

function decode(raw: string, attribute: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw invalid(`the value of ${attribute} has bad percent-encoding`, attribute);
  }
  // Control characters (NUL included) are refused after decoding, so %00 cannot smuggle one in.
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw invalid(`the value of ${attribute} contains a control character`, attribute);
  }
  if (value.length === 0) throw invalid(`${attribute} is empty`, attribute);
  if (Buffer.byteLength(value) > MAX_LABEL_BYTES && attribute !== 'module-path') {
    throw invalid(`${attribute} is longer than ${MAX_LABEL_BYTES} bytes`, attribute);
  }
  return value;
}

function attributes(part: string, separator: string, allowed: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of part.split(separator)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!/^[a-z-]{1,32}$/.test(name)) throw invalid('an attribute name is malformed');
    if (name === 'pin-value') {
      throw invalid('pin-value is refused (a PIN in a URI leaks); use pin-source', name);
    }
    if (!allowed.has(name)) throw invalid(`attribute ${name} is not supported here`, name);
    if (out.has(name)) throw invalid(`attribute ${name} appears twice`, name);
    if (eq < 0) throw invalid(`attribute ${name} has no value`, name);
    out.set(name, decode(pair.slice(eq + 1), name));
  }
  return out;
}

function absolutePath(value: string, attribute: string): string {
  if (!isAbsolute(value) || normalize(value) !== value) {
    throw invalid(`${attribute} must be an absolute, normalised path`, attribute);
  }
  return value;
}

function pinSource(value: string): PinSource {
  if (value.startsWith('file:')) {
    // RFC 8089 allows file:///path; both that and file:/path name the same file.
    const path = value.startsWith('file://') ? value.slice('file://'.length) : value.slice(5);
    return { kind: 'file', path: absolutePath(path, 'pin-source') };
  }
  if (value.startsWith('env:') && ENV_NAME.test(value.slice(4))) {
    return { kind: 'env', variable: value.slice(4) };
  }
  throw invalid('pin-source must be file:/absolute/path or env:VARIABLE', 'pin-source');
}

/** Whether `text` is meant as a PKCS#11 URI (it starts with the scheme), valid or not. */
export function isPkcs11Uri(text: string): boolean {
  return text.trim().toLowerCase().startsWith('pkcs11:');
}

/** Parses a PKCS#11 key URI; KEY_URI_INVALID (naming the attribute, never a value) otherwise. */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (text.length > PKCS11_URI_MAX_CHARS) {
    throw invalid(`longer than ${PKCS11_URI_MAX_CHARS} characters`);
  }
  if (!text.startsWith('pkcs11:')) throw invalid('does not start with "pkcs11:"');
  if (text.includes('#')) throw invalid('a fragment (#) is not allowed');
  const rest = text.slice('pkcs11:'.length);
  const question = rest.indexOf('?');
  const pathPart = question < 0 ? rest : rest.slice(0, question);
  const queryPart = question < 0 ? '' : rest.slice(question + 1);
  const path = attributes(pathPart, ';', PATH_ATTRIBUTES);
  const query = attributes(queryPart, '&', QUERY_ATTRIBUTES);
  const token = path.get('token');
  const object = path.get('object');
  if (token === undefined) throw invalid('token is required', 'token');
  if (object === undefined) throw invalid('object is required', 'object');
  if (Buffer.byteLength(token) > 32) throw invalid('token is longer than 32 bytes', 'token');
  const type = path.get('type');
  if (type !== undefined && type !== 'secret-key') {
    throw invalid('type must be secret-key (a master key is an AES key)', 'type');
  }
  const modulePath = query.get('module-path');
  if (modulePath === undefined) throw invalid('module-path is required', 'module-path');
  const pin = query.get('pin-source');
  const serial = path.get('serial');
  return {
    token,
    object,
    ...(serial === undefined ? {} : { serial }),
    modulePath: absolutePath(modulePath, 'module-path'),
    ...(pin === undefined ? {} : { pinSource: pinSource(pin) }),
    display: `pkcs11:token=${encodeURIComponent(token)};object=${encodeURIComponent(object)}`,
  };
}
