/**
 * Audit anchors: the log's head, MACed, kept outside the database.
 *
 * The MACed head in lockbox_meta says where the chain ends, but a database writer
 * who saved an older head (and its MAC) can delete the entries after it and put
 * that head back; the shorter chain then verifies. An anchor is a copy of a head
 * the operator (or `lockbox serve`) keeps elsewhere — a log line, a file, a
 * ticket. `verify({ anchor })` then requires that the chain still holds the
 * anchored entry, with the same hash, and reaches at least that far.
 *
 * Text (docs/format.md, one line of ASCII):
 *
 *   lockbox-audit-anchor/1 store=<store id> seq=<n> hash=<64 hex> at=<ISO-8601 UTC> key=<16 hex> mac=<64 hex>
 *
 * mac = HMAC-SHA256(audit MAC key `key`, context("lockbox-audit-anchor-v1",
 * store, seq, hash, at, key)) in lowercase hex: only a master-key holder can make
 * one, so an anchor cannot be forged to match a truncated log.
 */
import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { encodeContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import { auditEntryHash } from '../store/audit-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { AuditHead } from './audit-head.js';
import { type AuditKeys, type AuditMacKey, macHex } from './audit-keys.js';
import type { AuditVerifyResult } from './audit-verifier.js';

export const ANCHOR_PREFIX = 'lockbox-audit-anchor/1';
const LABEL = 'lockbox-audit-anchor-v1';
const MAX_ANCHOR_CHARS = 1024;
const ANCHOR_LINE =
  /^lockbox-audit-anchor\/1 store=([A-Za-z0-9_-]{1,128}) seq=([1-9][0-9]{0,15}) hash=([0-9a-f]{64}) at=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) key=([0-9a-f]{16}) mac=([0-9a-f]{64})$/;

export interface AuditAnchor {
  storeId: string;
  seq: number;
  hash: string;
  /** When the anchor was made. */
  at: string;
  /** The audit key that MACed it (and the head it copies). */
  keyId: string;
  mac: string;
}

function anchorMac(key: AuditMacKey, a: Omit<AuditAnchor, 'mac' | 'keyId'>): string {
  return macHex(key, encodeContext([LABEL, a.storeId, String(a.seq), a.hash, a.at, key.id]));
}

export function makeAnchor(
  key: AuditMacKey,
  storeId: string,
  head: AuditHead,
  at: string,
): AuditAnchor {
  const fields = { storeId, seq: head.seq, hash: head.hash, at };
  return { ...fields, keyId: key.id, mac: anchorMac(key, fields) };
}

export function formatAnchor(a: AuditAnchor): string {
  return `${ANCHOR_PREFIX} store=${a.storeId} seq=${a.seq} hash=${a.hash} at=${a.at} key=${a.keyId} mac=${a.mac}`;
}

/**
 * Parses anchor text (surrounding whitespace ignored; a text holding several
 * anchors, such as a log, is not an anchor: pass the one line). Throws
 * AUDIT_ANCHOR_INVALID for anything else; never echoes the input.
 */
export function parseAnchor(text: string): AuditAnchor {
  const line = text.length > MAX_ANCHOR_CHARS ? '' : text.trim();
  const m = ANCHOR_LINE.exec(line);
  if (m === null || !Number.isSafeInteger(Number(m[2]))) {
    throw new LockboxError(
      'AUDIT_ANCHOR_INVALID',
      `an audit anchor is one line starting "${ANCHOR_PREFIX} store=" (see docs/format.md)`,
    );
  }
  const [, storeId, seq, hash, at, keyId, mac] = m as unknown as string[];
  return {
    storeId: storeId!,
    seq: Number(seq),
    hash: hash!,
    at: at!,
    keyId: keyId!,
    mac: mac!,
  };
}

/**
 * Checks a verified chain against an anchor. Returns the verify result itself
 * when the chain holds the anchored entry and reaches it; a broken result when
 * the log ends before it ('deleted': entries were removed and an older head put
 * back) or holds another entry there ('edited'), or when the audit key that made
 * the anchor is gone from the store ('deleted': the log was wiped with its key).
 * Throws AUDIT_ANCHOR_INVALID for an anchor of another store or whose MAC fails.
 */
export async function checkAnchor(
  db: Kysely<LockboxSchema>,
  keys: AuditKeys,
  storeId: string,
  anchor: AuditAnchor,
  verified: AuditVerifyResult,
): Promise<AuditVerifyResult> {
  if (anchor.storeId !== storeId) {
    throw new LockboxError(
      'AUDIT_ANCHOR_INVALID',
      `the anchor is for store ${anchor.storeId}, not this store (${storeId})`,
      { details: { anchorStore: anchor.storeId, storeId } },
    );
  }
  const entries = verified.entries;
  const broken = (firstBroken: number, reason: 'deleted' | 'edited', message: string) =>
    ({ ok: false, firstBroken, reason, message, entries }) as const;
  const key = await keys.byId(anchor.keyId, db);
  if (key === undefined) {
    return broken(
      1,
      'deleted',
      `the anchor's audit key ${anchor.keyId} is gone from the store: the log was deleted with its key`,
    );
  }
  const expected = Buffer.from(anchorMac(key, anchor), 'utf8');
  if (!constantTimeEqual(expected, Buffer.from(anchor.mac, 'utf8'))) {
    throw new LockboxError('AUDIT_ANCHOR_INVALID', 'the audit anchor does not authenticate', {
      details: { seq: anchor.seq },
    });
  }
  if (!verified.ok) return verified;
  const end = verified.head?.seq ?? 0;
  if (end < anchor.seq) {
    return broken(
      end + 1,
      'deleted',
      `the log ends at entry ${end}, before the anchored entry ${anchor.seq} (anchored ${anchor.at}): later entries were deleted and an older head restored`,
    );
  }
  if ((await auditEntryHash(db, anchor.seq)) !== anchor.hash) {
    return broken(
      anchor.seq,
      'edited',
      `entry ${anchor.seq} is not the entry anchored at ${anchor.at}`,
    );
  }
  return verified;
}
