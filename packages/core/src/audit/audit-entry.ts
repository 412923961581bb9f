/**
 * One audit entry: what is stored, what is shown, and the canonical bytes its
 * chain MAC covers.
 *
 * Contract: an entry never holds a secret value or a key. The event type has no
 * field for either, and `details` is limited to short, non-secret facts (counts,
 * fingerprints, error codes, token ids) — see `cleanDetails`.
 */

import type { Selectable } from 'kysely';
import { encodeContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import type { AuditTable } from '../store/schema.js';

export type AuditOutcome = AuditTable['outcome'];

/** An entry as the log hands it out. */
export interface AuditEntry {
  /** The entry's place in the table's order (assigned by the database). */
  seq: number;
  /** The hash chain it belongs to (0: the shared chain; see docs/audit.md). */
  chain: number;
  /** Its position in that chain, from 1 (null only when the row was edited). */
  chainSeq: number | null;
  at: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  scope: string | null;
  name: string | null;
  outcome: AuditOutcome;
  requestId: string | null;
  details: Record<string, unknown> | null;
  /** The "lockbox:audit" data key whose derived MAC key made `hash`. */
  keyId: string | null;
  prevHash: string;
  hash: string;
}

/** The chain starts from 32 zero bytes, written as hex. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The fields of a row that the chain MAC covers: everything except `hash` and
 * the table order `seq`, with the row's position in its chain.
 */
export type ChainedFields = Omit<AuditTable, 'hash' | 'seq' | 'chain_seq'> & { chain_seq: number };

const OUTCOMES: readonly AuditOutcome[] = ['ok', 'denied', 'error'];
const MAX_TEXT = 512;
const MAX_DETAILS_BYTES = 4096;
const LONE_SURROGATE = /\p{Cs}/gu;

/**
 * Names a `details` object may not use: they would invite a caller to log a
 * value or a key. Defence in depth; the real guarantee is that no caller passes one.
 */
const FORBIDDEN_DETAIL_KEYS = new Set([
  'value',
  'plaintext',
  'secret',
  'password',
  'passphrase',
  'token',
  'key',
  'masterKey',
  'oldKey',
  'newKey',
  'identity',
  'ciphertext',
]);

/**
 * Text as it will be stored: well-formed Unicode without NUL (PostgreSQL would
 * replace or refuse either, and then the stored text would no longer match the
 * bytes the MAC covered), bounded in length.
 */
export function cleanText(text: string): string {
  const clean = text.replace(LONE_SURROGATE, '\ufffd').replaceAll('\u0000', '\ufffd');
  return clean.length > MAX_TEXT ? clean.slice(0, MAX_TEXT) : clean;
}

export function cleanOptionalText(text: string | null | undefined): string | null {
  return text === undefined || text === null ? null : cleanText(text);
}

export function checkOutcome(outcome: unknown): AuditOutcome {
  if (!OUTCOMES.includes(outcome as AuditOutcome)) {
    throw new LockboxError('INVALID_ARGUMENT', 'audit outcome must be ok, denied or error');
  }
  return outcome as AuditOutcome;
}

/**
 * `details` as stored JSON text, or null. Refuses (INVALID_ARGUMENT) keys that name
 * values or keys and anything over 4 KiB, so a careless caller fails loudly in tests
 * instead of leaking quietly in production.
 */
export function cleanDetails(details: Record<string, unknown> | undefined): string | null {
  if (details === undefined) return null;
  const text = JSON.stringify(details, (key, value: unknown) => {
    if (FORBIDDEN_DETAIL_KEYS.has(key)) {
      throw new LockboxError(
        'INVALID_ARGUMENT',
        `audit details may not carry "${key}": entries never hold values or keys`,
      );
    }
    return value;
  });
  if (Buffer.byteLength(text) > MAX_DETAILS_BYTES) {
    throw new LockboxError('INVALID_ARGUMENT', `audit details exceed ${MAX_DETAILS_BYTES} bytes`);
  }
  // JSON.stringify escapes control characters and lone surrogates, so the text is
  // already stored byte for byte as MACed.
  return text === '{}' ? null : text;
}

/** null and "" must encode differently: each optional part carries a presence marker. */
function optional(value: string | null): string {
  return value === null ? '-' : `+${value}`;
}

/**
 * The canonical bytes an entry's chain MAC covers: a label, the previous entry's
 * hash, the position in the chain, then every other stored column except seq,
 * each length-prefixed (see crypto/context.ts) so no two different entries
 * encode alike. Chain 0 keeps the encoding from before there were several
 * chains (its position was then seq), so entries written before verify as they
 * are; the other chains' label names the chain:
 *   chain 0: hash = HMAC-SHA256(K, enc("lockbox-audit-entry-v1", prev_hash, chain_seq, at, …, key_id))
 *   chain c: hash = HMAC-SHA256(K, enc("lockbox-audit-entry-v2", c, prev_hash, chain_seq, at, …, key_id))
 */
export function encodeChainedFields(row: ChainedFields): Buffer {
  const label =
    row.chain === 0 ? ['lockbox-audit-entry-v1'] : ['lockbox-audit-entry-v2', String(row.chain)];
  return encodeContext([
    ...label,
    row.prev_hash,
    String(row.chain_seq),
    row.at,
    optional(row.actor_id),
    optional(row.actor_name),
    row.action,
    optional(row.scope),
    optional(row.name),
    row.outcome,
    optional(row.request_id),
    optional(row.details),
    optional(row.key_id),
  ]);
}

export function toAuditEntry(row: Selectable<AuditTable>): AuditEntry {
  return {
    seq: Number(row.seq),
    chain: Number(row.chain),
    chainSeq: row.chain_seq === null ? null : Number(row.chain_seq),
    at: row.at,
    actorId: row.actor_id,
    actorName: row.actor_name,
    action: row.action,
    scope: row.scope,
    name: row.name,
    outcome: row.outcome,
    requestId: row.request_id,
    details: parseDetails(row.details),
    keyId: row.key_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function parseDetails(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : { unparsable: true };
  } catch {
    // A row edited in the database may hold anything; listing must still work
    // (verify is what reports the edit).
    return { unparsable: true };
  }
}
