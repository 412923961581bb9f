/**
 * The audit head of a chain: its last entry's position and hash, kept in
 * lockbox_meta and updated in the same transaction as each append to the
 * chain, with its own MAC.
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

/** The lockbox_meta key that holds the head of chain 0, the shared chain. */
export const AUDIT_HEAD_META = 'audit_head';

/** The lockbox_meta key that holds the head of `chain` (audit-chains.ts). */
export function headMetaKey(chain: number): string {
  return chain === 0 ? AUDIT_HEAD_META : `${AUDIT_HEAD_META}.${chain}`;
}

export interface AuditHead {
  /** The last position in the chain (0: a chain with no entries yet, written when chains are claimed). */
  seq: number;
  hash: string;
}

export type HeadReading =
  | { state: 'absent' }
  | ({ state: 'valid'; keyId: string } & AuditHead)
  | { state: 'invalid'; why: string };

/**
 * Chain 0's head keeps its format from before there were several chains; the
 * others name their chain in the MAC, so one chain's head cannot stand in for another's.
 */
function headMac(key: AuditMacKey, head: AuditHead, chain: number): string {
  const label = chain === 0 ? ['lockbox-audit-head-v1'] : ['lockbox-audit-head-v2', String(chain)];
  return macHex(key, encodeContext([...label, String(head.seq), head.hash]));
}

export function encodeHead(key: AuditMacKey, head: AuditHead, chain = 0): string {
  return JSON.stringify({
    v: chain === 0 ? 1 : 2,
    seq: head.seq,
    hash: head.hash,
    keyId: key.id,
    mac: headMac(key, head, chain),
  });
}

/** Reads and authenticates the head. Never throws for a malformed value: that is tampering. */
export async function readHead(
  db: Kysely<LockboxSchema>,
  keys: AuditKeys,
  chain = 0,
): Promise<HeadReading> {
  const value = await getMeta(db, headMetaKey(chain));
  if (value === undefined) return { state: 'absent' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { state: 'invalid', why: 'the audit head is not JSON' };
  }
  const head = parsed as Partial<Record<'v' | 'seq' | 'hash' | 'keyId' | 'mac', unknown>>;
  if (
    head.v !== (chain === 0 ? 1 : 2) ||
    typeof head.seq !== 'number' ||
    !Number.isSafeInteger(head.seq) ||
    head.seq < 0 ||
    typeof head.hash !== 'string' ||
    typeof head.keyId !== 'string' ||
    typeof head.mac !== 'string'
  ) {
    return { state: 'invalid', why: 'the audit head is malformed' };
  }
  const key = await keys.byId(head.keyId, db);
  if (key === undefined) return { state: 'invalid', why: 'the audit head names an unknown key' };
  const expected = Buffer.from(headMac(key, { seq: head.seq, hash: head.hash }, chain), 'utf8');
  if (!constantTimeEqual(expected, Buffer.from(head.mac, 'utf8'))) {
    return { state: 'invalid', why: 'the audit head MAC does not verify' };
  }
  return { state: 'valid', seq: head.seq, hash: head.hash, keyId: head.keyId };
}

/** Stores the head text made by `encodeHead`. */
export async function writeHead(
  db: Kysely<LockboxSchema>,
  value: string,
  chain = 0,
): Promise<void> {
  await setMeta(db, headMetaKey(chain), value);
}
