/**
 * The audit head: the last entry's seq and hash, kept in lockbox_meta and
 * updated in the same transaction as each append, with its own MAC.
 *
 * Why: a hash chain alone cannot tell "the last entries were deleted" from "there
 * were no more entries". The head says where the chain must end, and its MAC
 * means someone without the audit key cannot move it back to match a truncated
 * table. (Someone who saved an older head value and its MAC can restore it; only
 * an anchor kept outside the database detects that — see docs/audit.md.)
 */
import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { encodeContext } from '../crypto/context.js';
import { getMeta, setMeta } from '../store/meta-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { AuditKeys, AuditMacKey } from './audit-keys.js';
import { macHex } from './audit-keys.js';

/** The lockbox_meta key that holds the head. */
export const AUDIT_HEAD_META = 'audit_head';

export interface AuditHead {
  seq: number;
  hash: string;
}

export type HeadReading =
  | { state: 'absent' }
  | ({ state: 'valid'; keyId: string } & AuditHead)
  | { state: 'invalid'; why: string };

function headMac(key: AuditMacKey, head: AuditHead): string {
  return macHex(key, encodeContext(['lockbox-audit-head-v1', String(head.seq), head.hash]));
}

export function encodeHead(key: AuditMacKey, head: AuditHead): string {
  return JSON.stringify({
    v: 1,
    seq: head.seq,
    hash: head.hash,
    keyId: key.id,
    mac: headMac(key, head),
  });
}

/** Reads and authenticates the head. Never throws for a malformed value: that is tampering. */
export async function readHead(db: Kysely<LockboxSchema>, keys: AuditKeys): Promise<HeadReading> {
  const value = await getMeta(db, AUDIT_HEAD_META);
  if (value === undefined) return { state: 'absent' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { state: 'invalid', why: 'the audit head is not JSON' };
  }
  const head = parsed as Partial<Record<'v' | 'seq' | 'hash' | 'keyId' | 'mac', unknown>>;
  if (
    head.v !== 1 ||
    typeof head.seq !== 'number' ||
    !Number.isSafeInteger(head.seq) ||
    head.seq < 1 ||
    typeof head.hash !== 'string' ||
    typeof head.keyId !== 'string' ||
    typeof head.mac !== 'string'
  ) {
    return { state: 'invalid', why: 'the audit head is malformed' };
  }
  const key = await keys.byId(head.keyId, db);
  if (key === undefined) return { state: 'invalid', why: 'the audit head names an unknown key' };
  const expected = Buffer.from(headMac(key, { seq: head.seq, hash: head.hash }), 'utf8');
  if (!constantTimeEqual(expected, Buffer.from(head.mac, 'utf8'))) {
    return { state: 'invalid', why: 'the audit head MAC does not verify' };
  }
  return { state: 'valid', seq: head.seq, hash: head.hash, keyId: head.keyId };
}

/** Stores the head text made by `encodeHead`. */
export async function writeHead(db: Kysely<LockboxSchema>, value: string): Promise<void> {
  await setMeta(db, AUDIT_HEAD_META, value);
}
