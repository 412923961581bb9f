/**
 * Verifying the audit chain, in bounded memory.
 *
 * The verifier pins an end point first (the MACed head and the highest seq, read
 * together under the append lock), then pages through the entries in seq order,
 * recomputing each entry's MAC and checking that it links to the one before. It
 * stops at the first broken entry and says why:
 *
 * - 'deleted'   a seq is missing (or the table ends before the head), or an entry
 *               authenticates under a higher seq than it now has (renumbered to
 *               close a gap); firstBroken is the first missing seq
 * - 'inserted'  an entry does not authenticate and the chain continues past it
 *               from its predecessor, or it lies beyond the head, or it
 *               authenticates under a lower seq (a copy pushed in)
 * - 'reordered' entries authenticate, but under each other's seqs or not linked
 * - 'edited'    an entry does not authenticate (any column, including prev_hash,
 *               hash and key_id), or the head does not; or an entry (or the
 *               head) is MACed under an older audit key version than an entry
 *               before it — after a re-key, a retired key (verify-only) cannot
 *               extend the log
 *
 * An empty log with no head is ok only while the store has no audit key: the key
 * is created by the first append, so entries and head deleted together are
 * reported as 'deleted' from seq 1.
 *
 * Entries appended while verify runs lie beyond the pinned end and are not read.
 */
import { auditEntries, auditEntryAfter, highestAuditSeq } from '../store/audit-rows.js';
import type { Store } from '../store/connect.js';
import type { AuditTable } from '../store/schema.js';
import { entryHash, lockAuditChain } from './audit-chain.js';
import { GENESIS_HASH } from './audit-entry.js';
import { type AuditHead, type HeadReading, readHead } from './audit-head.js';
import { type AuditKeys, type AuditMacKey, auditKeyExists } from './audit-keys.js';

export type AuditBreak = 'edited' | 'deleted' | 'inserted' | 'reordered';

export type AuditVerifyResult =
  | { ok: true; entries: number; head: AuditHead | null }
  | {
      ok: false;
      /** The first entry that is broken (for a deletion: the first missing seq). */
      firstBroken: number;
      reason: AuditBreak;
      /** A sentence for people; names seqs only. */
      message: string;
      /** Entries that verified before the break. */
      entries: number;
    };

export interface VerifyOptions {
  /** Entries read per page (default 1000). Memory is bounded by this, not by the log. */
  batchSize?: number;
}

/** How far a renumbered entry is searched for its original seq. */
const RENUMBER_WINDOW = 16;

interface Pinned {
  head: HeadReading;
  maxSeq: number | null;
}

export class AuditVerifier {
  readonly #store: Pick<Store, 'db' | 'dialect'>;
  readonly #keys: AuditKeys;

  constructor(store: Pick<Store, 'db' | 'dialect'>, keys: AuditKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  async verify(options: VerifyOptions = {}): Promise<AuditVerifyResult> {
    const batchSize = options.batchSize ?? 1000;
    const { head, maxSeq } = await this.#pin();
    const headSeq = head.state === 'valid' ? head.seq : undefined;
    let expected = 1;
    let prevHash = GENESIS_HASH;
    let verified = 0;
    let keyVersion = 0;
    let lastKeyId: string | null = null;
    // No lower bound on the first page, so rows with seq ≤ 0 are read (and reported) too.
    let cursor: number | undefined;
    const broken = (firstBroken: number, reason: AuditBreak, message: string) =>
      ({ ok: false, firstBroken, reason, message, entries: verified }) as const;

    while (maxSeq !== null) {
      const rows = await auditEntries(this.#store.db, {
        after: cursor,
        through: maxSeq,
        limit: batchSize,
      });
      if (rows.length === 0) break;
      for (const raw of rows) {
        const row = { ...raw, seq: Number(raw.seq) };
        cursor = row.seq;
        if (row.seq < expected) {
          return broken(row.seq, 'inserted', `entry ${row.seq} lies before the start of the chain`);
        }
        if (row.seq > expected) {
          return broken(expected, 'deleted', `entry ${expected} is missing`);
        }
        if (headSeq !== undefined && row.seq > headSeq) {
          return broken(row.seq, 'inserted', `entry ${row.seq} lies beyond the audit head`);
        }
        const key = row.key_id === null ? undefined : await this.#keys.byId(row.key_id);
        if (!authentic(key, row, row.seq)) {
          const [reason, message] = await this.#classify(row, key, prevHash);
          return broken(row.seq, reason, message);
        }
        const version = (await this.#keys.version(row.key_id as string)) ?? 0;
        if (version < keyVersion) {
          return broken(
            row.seq,
            'edited',
            `entry ${row.seq} is MACed under a retired audit key after the log moved to a newer one`,
          );
        }
        keyVersion = version;
        lastKeyId = row.key_id;
        if (row.prev_hash !== prevHash) {
          return broken(
            row.seq,
            'reordered',
            `entry ${row.seq} is not linked to the entry before it`,
          );
        }
        if (head.state === 'valid' && row.seq === head.seq && row.hash !== head.hash) {
          return broken(row.seq, 'edited', `entry ${row.seq} does not match the audit head`);
        }
        prevHash = row.hash;
        expected = row.seq + 1;
        verified += 1;
      }
    }

    const last = expected - 1;
    if (head.state === 'absent') {
      if (last === 0) {
        if (!(await auditKeyExists(this.#store.db))) return { ok: true, entries: 0, head: null };
        return broken(
          1,
          'deleted',
          'the audit log and its head are missing, but its key exists: entries were recorded and deleted',
        );
      }
      return broken(
        last + 1,
        'deleted',
        `the audit head is missing; entries after ${last} may have been deleted`,
      );
    }
    if (head.state === 'invalid') {
      return broken(last + 1, 'edited', `${head.why}; entries after ${last} cannot be vouched for`);
    }
    if (head.seq > last) {
      return broken(last + 1, 'deleted', `entries ${last + 1} to ${head.seq} are missing`);
    }
    if (head.keyId !== lastKeyId) {
      return broken(head.seq, 'edited', "the audit head is not MACed under its last entry's key");
    }
    return { ok: true, entries: verified, head: { seq: head.seq, hash: head.hash } };
  }

  /**
   * The head and the highest seq, read together: on PostgreSQL under the append
   * lock (read committed would otherwise let an append land between the two
   * reads), on SQLite inside one read transaction (one snapshot).
   */
  async #pin(): Promise<Pinned> {
    return this.#store.db.transaction().execute(async (trx) => {
      if (this.#store.dialect === 'postgres') await lockAuditChain(trx, 'postgres');
      const head = await readHead(trx, this.#keys);
      return { head, maxSeq: await highestAuditSeq(trx) };
    });
  }

  /** Why an entry that does not authenticate is broken (see the module comment). */
  async #classify(
    row: AuditTable,
    key: AuditMacKey | undefined,
    prevHash: string,
  ): Promise<[AuditBreak, string]> {
    const seq = row.seq;
    const next = await this.#nextRow(seq);
    const original = originalSeq(key, row);
    if (original !== undefined && original > seq) {
      const nextKey = next?.key_id == null ? undefined : await this.#keys.byId(next.key_id);
      const nextOriginal = next === undefined ? undefined : originalSeq(nextKey, next);
      if (next !== undefined && nextOriginal !== undefined && nextOriginal < Number(next.seq)) {
        return ['reordered', `entries ${seq} and after were moved out of order`];
      }
      return [
        'deleted',
        `entries ${seq} to ${original - 1} are missing (later entries renumbered)`,
      ];
    }
    if (original !== undefined && original < seq) {
      return ['inserted', `entry ${seq} is a copy of entry ${original}`];
    }
    if (next !== undefined) {
      const nextKey = next.key_id === null ? undefined : await this.#keys.byId(next.key_id);
      if (next.prev_hash === prevHash || originalSeq(nextKey, next) === Number(next.seq) - 1) {
        return ['inserted', `entry ${seq} was inserted into the chain`];
      }
    }
    return ['edited', `entry ${seq} does not authenticate`];
  }

  async #nextRow(seq: number): Promise<AuditTable | undefined> {
    return auditEntryAfter(this.#store.db, seq);
  }
}

/** Whether the row's stored hash is its MAC when placed at `seq`. */
function authentic(key: AuditMacKey | undefined, row: AuditTable, seq: number): boolean {
  if (key === undefined) return false;
  try {
    return entryHash(key, { ...row, seq }) === row.hash;
  } catch {
    // Text that cannot be encoded (edited into the database) does not authenticate.
    return false;
  }
}

/** The seq (near its current one) under which a renumbered row authenticates, if any. */
function originalSeq(key: AuditMacKey | undefined, row: AuditTable): number | undefined {
  const seq = Number(row.seq);
  if (authentic(key, row, seq)) return seq;
  for (let d = 1; d <= RENUMBER_WINDOW; d++) {
    if (authentic(key, row, seq + d)) return seq + d;
    if (seq - d >= 1 && authentic(key, row, seq - d)) return seq - d;
  }
  return undefined;
}
