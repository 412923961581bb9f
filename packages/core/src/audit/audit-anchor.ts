/**
 * Audit anchors: the log's heads, MACed, kept outside the database.
 *
 * The MACed heads in lockbox_meta say where each chain ends, but a database
 * writer who saved an older head (and its MAC) can delete the entries after it
 * and put that head back; the shorter chain then verifies. An anchor is a copy
 * of the heads the operator (or `lockbox serve`) keeps elsewhere — a log line, a
 * file, a ticket. `verify({ anchor })` then requires that every anchored chain
 * still holds its anchored entry, with the same hash, and reaches at least that far.
 *
 * Text (docs/format.md, one line of ASCII). A log with one chain (no process
 * ever held a chain of its own) keeps the first format:
 *
 *   lockbox-audit-anchor/1 store=<store id> seq=<n> hash=<64 hex> at=<ISO-8601 UTC> key=<16 hex> mac=<64 hex>
 *
 *   mac = HMAC-SHA256(audit MAC key `key`, context("lockbox-audit-anchor-v1",
 *         store, seq, hash, at, key))
 *
 * With several chains, every chain's position and one digest of their hashes:
 *
 *   lockbox-audit-anchor/2 store=<store id> heads=<chain>:<position>,… digest=<64 hex> at=… key=… mac=…
 *
 *   digest = SHA-256(context("lockbox-audit-anchor-heads-v1", chain, position, hash, …))
 *   mac    = HMAC-SHA256(audit MAC key `key`, context("lockbox-audit-anchor-v2",
 *            store, heads, digest, at, key))
 *
 * in lowercase hex: only a master-key holder can make one, so an anchor cannot
 * be forged to match a truncated log. (Position 0 with the genesis hash: a
 * chain with no entries yet.)
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { encodeContext } from '../crypto/context.js';
import { LockboxError } from '../errors.js';
import { chainEntryAt } from '../store/audit-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { GENESIS_HASH } from './audit-entry.js';
import { type AuditKeys, type AuditMacKey, macHex } from './audit-keys.js';
import type { AuditVerifyResult, ChainHead } from './audit-verifier.js';

/** What every anchor's text starts with (then the format version). */
export const ANCHOR_PREFIX = 'lockbox-audit-anchor/';
const MAX_ANCHOR_CHARS = 64 * 1024;
const STORE = '([A-Za-z0-9_-]{1,128})';
const TAIL =
  'at=(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{1,9})?Z) key=([0-9a-f]{16}) mac=([0-9a-f]{64})$';
const V1_LINE = new RegExp(
  `^lockbox-audit-anchor/1 store=${STORE} seq=([1-9][0-9]{0,15}) hash=([0-9a-f]{64}) ${TAIL}`,
);
const V2_LINE = new RegExp(
  `^lockbox-audit-anchor/2 store=${STORE} heads=((?:[0-9]{1,9}:[0-9]{1,16},)*[0-9]{1,9}:[0-9]{1,16}) digest=([0-9a-f]{64}) ${TAIL}`,
);

export interface AuditAnchor {
  /** 1: one chain (chain 0); 2: several. */
  version: 1 | 2;
  storeId: string;
  /** The anchored position of each chain, in chain order. */
  heads: { chain: number; seq: number }[];
  /** Version 1: the anchored entry's hash. Version 2: the digest of every anchored entry's hash. */
  hash: string;
  /** When the anchor was made. */
  at: string;
  /** The audit key that MACed it. */
  keyId: string;
  mac: string;
}

function headsText(heads: readonly { chain: number; seq: number }[]): string {
  return heads.map((h) => `${h.chain}:${h.seq}`).join(',');
}

function headsDigest(heads: readonly ChainHead[]): string {
  const parts = ['lockbox-audit-anchor-heads-v1'];
  for (const h of heads) parts.push(String(h.chain), String(h.seq), h.hash);
  return createHash('sha256').update(encodeContext(parts)).digest('hex');
}

function anchorMac(key: AuditMacKey, a: Omit<AuditAnchor, 'mac' | 'keyId'>): string {
  if (a.version === 1) {
    const seq = String(a.heads[0]?.seq);
    return macHex(
      key,
      encodeContext(['lockbox-audit-anchor-v1', a.storeId, seq, a.hash, a.at, key.id]),
    );
  }
  return macHex(
    key,
    encodeContext(['lockbox-audit-anchor-v2', a.storeId, headsText(a.heads), a.hash, a.at, key.id]),
  );
}

/**
 * An anchor of these verified heads (chain 0 first); version 1 when chain 0 is
 * the only chain, so single-chain logs keep their anchors' format.
 */
export function makeAnchor(
  key: AuditMacKey,
  storeId: string,
  heads: readonly ChainHead[],
  at: string,
): AuditAnchor {
  const single = heads.length === 1 && heads[0]?.chain === 0;
  const fields = {
    version: single ? (1 as const) : (2 as const),
    storeId,
    heads: heads.map(({ chain, seq }) => ({ chain, seq })),
    hash: single ? (heads[0] as ChainHead).hash : headsDigest(heads),
    at,
  };
  return { ...fields, keyId: key.id, mac: anchorMac(key, fields) };
}

export function formatAnchor(a: AuditAnchor): string {
  const tail = `at=${a.at} key=${a.keyId} mac=${a.mac}`;
  if (a.version === 1) {
    return `${ANCHOR_PREFIX}1 store=${a.storeId} seq=${a.heads[0]?.seq} hash=${a.hash} ${tail}`;
  }
  return `${ANCHOR_PREFIX}2 store=${a.storeId} heads=${headsText(a.heads)} digest=${a.hash} ${tail}`;
}

/**
 * Parses anchor text (surrounding whitespace ignored; a text holding several
 * anchors, such as a log, is not an anchor: pass the one line). Throws
 * AUDIT_ANCHOR_INVALID for anything else; never echoes the input.
 */
export function parseAnchor(text: string): AuditAnchor {
  const invalid = () =>
    new LockboxError(
      'AUDIT_ANCHOR_INVALID',
      `an audit anchor is one line starting "${ANCHOR_PREFIX}1 store=" or "${ANCHOR_PREFIX}2 store=" (see docs/format.md)`,
    );
  const line = text.length > MAX_ANCHOR_CHARS ? '' : text.trim();
  const v1 = V1_LINE.exec(line);
  if (v1 !== null) {
    const [, storeId, seq, hash, at, keyId, mac] = v1 as unknown as string[];
    if (!Number.isSafeInteger(Number(seq))) throw invalid();
    return {
      version: 1,
      storeId: storeId!,
      heads: [{ chain: 0, seq: Number(seq) }],
      hash: hash!,
      at: at!,
      keyId: keyId!,
      mac: mac!,
    };
  }
  const v2 = V2_LINE.exec(line);
  if (v2 === null) throw invalid();
  const [, storeId, list, digest, at, keyId, mac] = v2 as unknown as string[];
  const heads = list!.split(',').map((pair) => {
    const [chain, seq] = pair.split(':').map(Number) as [number, number];
    return { chain, seq };
  });
  // Chains in increasing order, each once, positions exact integers.
  if (
    heads.some(
      (h, i) =>
        !Number.isSafeInteger(h.seq) ||
        (i > 0 && h.chain <= (heads[i - 1] as { chain: number }).chain),
    )
  ) {
    throw invalid();
  }
  return { version: 2, storeId: storeId!, heads, hash: digest!, at: at!, keyId: keyId!, mac: mac! };
}

/**
 * Checks a verified log against an anchor. Returns the verify result itself
 * when every anchored chain holds its anchored entry and reaches it; a broken
 * result when a chain ends before it ('deleted': entries were removed and an
 * older head put back) or holds another entry there ('edited'), or when the
 * audit key that made the anchor is gone from the store ('deleted': the log was
 * wiped with its key). Throws AUDIT_ANCHOR_INVALID for an anchor of another
 * store or whose MAC fails.
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
  const broken = (
    chain: number,
    firstBroken: number,
    reason: 'deleted' | 'edited',
    message: string,
  ) => ({ ok: false, chain, firstBroken, reason, message, entries }) as const;
  const key = await keys.byId(anchor.keyId, db);
  if (key === undefined) {
    return broken(
      0,
      1,
      'deleted',
      `the anchor's audit key ${anchor.keyId} is gone from the store: the log was deleted with its key`,
    );
  }
  const expected = Buffer.from(anchorMac(key, anchor), 'utf8');
  if (!constantTimeEqual(expected, Buffer.from(anchor.mac, 'utf8'))) {
    throw new LockboxError('AUDIT_ANCHOR_INVALID', 'the audit anchor does not authenticate', {
      details: { heads: headsText(anchor.heads) },
    });
  }
  if (!verified.ok) return verified;
  const found: ChainHead[] = [];
  for (const { chain, seq } of anchor.heads) {
    const end = verified.heads.find((h) => h.chain === chain)?.seq ?? 0;
    const name = chain === 0 ? `entry ${seq}` : `entry ${seq} of chain ${chain}`;
    const log = chain === 0 ? 'the log' : `chain ${chain}`;
    if (end < seq || (seq === 0 && !verified.heads.some((h) => h.chain === chain))) {
      return broken(
        chain,
        end + 1,
        'deleted',
        `${log} ends at entry ${end}, before the anchored ${name} (anchored ${anchor.at}): later entries were deleted and an older head restored`,
      );
    }
    const hash = seq === 0 ? GENESIS_HASH : (await chainEntryAt(db, chain, seq))?.hash;
    if (anchor.version === 1 && hash !== anchor.hash) {
      return broken(chain, seq, 'edited', `${name} is not the entry anchored at ${anchor.at}`);
    }
    found.push({ chain, seq, hash: hash ?? '' });
  }
  if (anchor.version === 2 && headsDigest(found) !== anchor.hash) {
    const first = anchor.heads[0] as { chain: number; seq: number };
    return broken(
      first.chain,
      first.seq,
      'edited',
      `the anchored entries are not the ones anchored at ${anchor.at}`,
    );
  }
  return verified;
}
