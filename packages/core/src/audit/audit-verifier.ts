/**
 * Verifying the audit log, in bounded memory.
 *
 * The verifier pins an end point first: the chain registry, every chain's
 * MACed head and the highest seq, read in one snapshot. It then pages through
 * the entries in the table's order (seq) and checks each against its chain
 * (audit-chains.ts): recomputing its MAC at its position, and checking that it
 * is the chain's next position and links to the chain's entry before. It stops
 * at the first broken entry and says which chain and position, and why:
 *
 * - 'deleted'   a position is missing (or a chain ends before its head, or a
 *               head is missing), or an entry authenticates under a higher
 *               position than it now has (renumbered to close a gap);
 *               firstBroken is the first missing position
 * - 'inserted'  an entry does not authenticate and the chain continues past it
 *               from its predecessor, or it lies beyond its chain's head, or it
 *               authenticates under a lower position (a copy pushed in), or it
 *               belongs to a chain the registry does not list
 * - 'reordered' entries authenticate, but under each other's positions, or not
 *               linked, or in another order than their positions (seqs swapped)
 * - 'edited'    an entry does not authenticate (any column, including prev_hash,
 *               hash and key_id), or a head or the registry does not; or an
 *               entry (or a head) is MACed under an older audit key version
 *               than an entry before it in its chain — after a re-key, a
 *               retired key (verify-only) cannot extend the log
 *
 * An empty log with no head is ok only while the store has no audit key: the key
 * is created by the first append, so entries and head deleted together are
 * reported as 'deleted' from position 1.
 *
 * Entries appended while verify runs lie beyond the pinned end and are not read.
 * The order between chains is not authenticated (entries of different chains
 * were written concurrently); within a chain it is.
 */
import type { Kysely } from 'kysely';
import {
  auditEntries,
  auditEntryAfter,
  chainEntryAt,
  highestAuditSeq,
} from '../store/audit-rows.js';
import type { Store } from '../store/connect.js';
import { getMeta } from '../store/meta-rows.js';
import type { AuditTable, LockboxSchema } from '../store/schema.js';
import { entryHash } from './audit-chain.js';
import { type RegistryReading, readRegistry } from './audit-chains.js';
import { GENESIS_HASH } from './audit-entry.js';
import { type AuditHead, type HeadReading, headMetaKey, readHead } from './audit-head.js';
import { type AuditKeys, type AuditMacKey, auditKeyExists } from './audit-keys.js';

export type AuditBreak = 'edited' | 'deleted' | 'inserted' | 'reordered';

/** A chain's verified end: its last position (0: no entries yet) and hash. */
export interface ChainHead extends AuditHead {
  chain: number;
}

export type AuditVerifyResult =
  | {
      ok: true;
      entries: number;
      /** Chain 0's head, or null while chain 0 has no entries. */
      head: AuditHead | null;
      /** Every chain's verified head, chain 0 first (absent while the log is empty). */
      heads: ChainHead[];
      /** The highest seq verified (0: none): the entries up to it are vouched for. */
      throughSeq: number;
    }
  | {
      ok: false;
      /** The chain of the first broken entry (0: the shared chain). */
      chain: number;
      /** The first broken position in that chain (for a deletion: the first missing one). */
      firstBroken: number;
      reason: AuditBreak;
      /** A sentence for people; names chains and positions only. */
      message: string;
      /** Entries that verified before the break. */
      entries: number;
    };

export interface VerifyOptions {
  /** Entries read per page (default 1000). Memory is bounded by this, not by the log. */
  batchSize?: number;
}

/** How far a renumbered entry is searched for its original position. */
const RENUMBER_WINDOW = 16;

interface Pinned {
  registry: RegistryReading;
  /** The heads of chains 0 to the registry's count. */
  heads: HeadReading[];
  /** Whether a head exists for the chain after the registry's last. */
  headBeyond: boolean;
  maxSeq: number | null;
}

/** Where the walk stands in one chain. */
interface ChainState {
  expected: number;
  prevHash: string;
  keyVersion: number;
  lastKeyId: string | null;
}

type Broken = Extract<AuditVerifyResult, { ok: false }>;

/** "entry 5" in chain 0 (as before there were several chains), "entry 5 of chain 2" otherwise. */
function entryName(chain: number, position: number): string {
  return chain === 0 ? `entry ${position}` : `entry ${position} of chain ${chain}`;
}

/** "entries 3 to 5", with "of chain 2" outside chain 0. */
function rangeName(chain: number, from: number, to: number): string {
  return `entries ${from} to ${to}${chain === 0 ? '' : ` of chain ${chain}`}`;
}

function chainName(chain: number): string {
  return chain === 0 ? 'the shared chain' : `chain ${chain}`;
}

export class AuditVerifier {
  readonly #store: Pick<Store, 'db' | 'dialect'>;
  readonly #keys: AuditKeys;

  constructor(store: Pick<Store, 'db' | 'dialect'>, keys: AuditKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  /**
   * PostgreSQL: everything in one repeatable-read snapshot, because seq comes
   * from a sequence and an entry can commit after one with a higher seq (a
   * page read later would see it beyond its pinned head). SQLite: the pin in
   * one read transaction, the pages after it (one writer at a time assigns
   * seqs in commit order, and holding the connection would stall the store).
   */
  async verify(options: VerifyOptions = {}): Promise<AuditVerifyResult> {
    if (this.#store.dialect === 'postgres') {
      return this.#store.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .setAccessMode('read only')
        .execute(async (trx) => this.#walk(trx, await this.#pin(trx), options));
    }
    const pinned = await this.#store.db.transaction().execute((trx) => this.#pin(trx));
    return this.#walk(this.#store.db, pinned, options);
  }

  async #walk(
    db: Kysely<LockboxSchema>,
    pinned: Pinned,
    options: VerifyOptions,
  ): Promise<AuditVerifyResult> {
    const batchSize = options.batchSize ?? 1000;
    const { registry, heads, maxSeq } = pinned;
    let verified = 0;
    const broken = (
      chain: number,
      firstBroken: number,
      reason: AuditBreak,
      message: string,
    ): Broken => ({ ok: false, chain, firstBroken, reason, message, entries: verified });

    if (registry.state === 'invalid') {
      return broken(1, 1, 'edited', `${registry.why}; chains other than 0 cannot be vouched for`);
    }
    if (pinned.headBeyond) {
      return broken(
        heads.length,
        1,
        'deleted',
        `chain ${heads.length} has a head but the chain registry does not list it: an older registry was put back`,
      );
    }
    const states: ChainState[] = heads.map(() => ({
      expected: 1,
      prevHash: GENESIS_HASH,
      keyVersion: 0,
      lastKeyId: null,
    }));
    // No lower bound on the first page, so rows with seq ≤ 0 are read (and reported) too.
    let cursor: number | undefined;
    while (maxSeq !== null) {
      const rows = await auditEntries(db, { after: cursor, through: maxSeq, limit: batchSize });
      if (rows.length === 0) break;
      for (const raw of rows) {
        cursor = Number(raw.seq);
        const chain = Number(raw.chain);
        const state = states[chain];
        if (state === undefined || !Number.isSafeInteger(chain)) {
          return broken(
            chain,
            Number(raw.chain_seq ?? 0),
            'inserted',
            `the entry at seq ${cursor} belongs to chain ${chain}, which the chain registry does not list`,
          );
        }
        if (raw.chain_seq === null) {
          return broken(
            chain,
            state.expected,
            'edited',
            `the entry at seq ${cursor} has no position in ${chainName(chain)}`,
          );
        }
        const row = { ...raw, chain, chain_seq: Number(raw.chain_seq) };
        const position = row.chain_seq;
        const name = entryName(chain, position);
        const head = heads[chain] as HeadReading;
        if (position < state.expected) {
          return broken(chain, position, 'inserted', `${name} lies before its place in the chain`);
        }
        if (position > state.expected) {
          // The missing position may be further on: seqs swapped, the chain's own order intact.
          const later = (await chainEntryAt(db, chain, state.expected))?.seq;
          if (later !== undefined && later > cursor && (maxSeq === null || later <= maxSeq)) {
            return broken(
              chain,
              state.expected,
              'reordered',
              `${entryName(chain, state.expected)} comes after ${name} in the table's order`,
            );
          }
          return broken(
            chain,
            state.expected,
            'deleted',
            `${entryName(chain, state.expected)} is missing`,
          );
        }
        if (head.state === 'valid' && position > head.seq) {
          return broken(chain, position, 'inserted', `${name} lies beyond the chain's head`);
        }
        const key = row.key_id === null ? undefined : await this.#keys.byId(row.key_id, db);
        if (!authentic(key, row, position)) {
          const [reason, message] = await this.#classify(db, row, key, state.prevHash);
          return broken(chain, position, reason, message);
        }
        const version = (await this.#keys.version(row.key_id as string, db)) ?? 0;
        if (version < state.keyVersion) {
          return broken(
            chain,
            position,
            'edited',
            `${name} is MACed under a retired audit key after the log moved to a newer one`,
          );
        }
        state.keyVersion = version;
        state.lastKeyId = row.key_id;
        if (row.prev_hash !== state.prevHash) {
          return broken(
            chain,
            position,
            'reordered',
            `${name} is not linked to the entry before it`,
          );
        }
        if (head.state === 'valid' && position === head.seq && row.hash !== head.hash) {
          return broken(chain, position, 'edited', `${name} does not match its chain's head`);
        }
        state.prevHash = row.hash;
        state.expected = position + 1;
        verified += 1;
      }
    }

    const verifiedHeads: ChainHead[] = [];
    for (const [chain, head] of heads.entries()) {
      const end = await this.#checkEnd(db, chain, head, states[chain] as ChainState, broken);
      if (end === 'empty') continue;
      if ('ok' in end) return end;
      verifiedHeads.push(end);
    }
    const zero = verifiedHeads[0];
    return {
      ok: true,
      entries: verified,
      head:
        zero !== undefined && zero.chain === 0 && zero.seq > 0
          ? { seq: zero.seq, hash: zero.hash }
          : null,
      heads: verifiedHeads,
      throughSeq: maxSeq ?? 0,
    };
  }

  /** The end of one chain against its head: its verified head, 'empty' (no log yet), or the break. */
  async #checkEnd(
    db: Kysely<LockboxSchema>,
    chain: number,
    head: HeadReading,
    state: ChainState,
    broken: (chain: number, at: number, reason: AuditBreak, message: string) => Broken,
  ): Promise<ChainHead | 'empty' | Broken> {
    const last = state.expected - 1;
    if (head.state === 'absent') {
      if (chain !== 0) {
        return broken(chain, last + 1, 'deleted', `the head of chain ${chain} is missing`);
      }
      if (last === 0) {
        if (!(await auditKeyExists(db))) return 'empty';
        return broken(
          0,
          1,
          'deleted',
          'the audit log and its head are missing, but its key exists: entries were recorded and deleted',
        );
      }
      return broken(
        0,
        last + 1,
        'deleted',
        `the audit head is missing; entries after ${last} may have been deleted`,
      );
    }
    if (head.state === 'invalid') {
      return broken(
        chain,
        last + 1,
        'edited',
        `${head.why}${chain === 0 ? '' : ` (chain ${chain})`}; entries after ${last} cannot be vouched for`,
      );
    }
    if (head.seq > last) {
      return broken(
        chain,
        last + 1,
        'deleted',
        `${rangeName(chain, last + 1, head.seq)} are missing`,
      );
    }
    if (head.seq > 0 && head.keyId !== state.lastKeyId) {
      return broken(
        chain,
        head.seq,
        'edited',
        `the head of ${chainName(chain)} is not MACed under its last entry's key`,
      );
    }
    return { chain, seq: head.seq, hash: head.hash };
  }

  /**
   * The registry, every listed chain's head and the highest seq, in one
   * snapshot (the caller's transaction).
   */
  async #pin(trx: Kysely<LockboxSchema>): Promise<Pinned> {
    const registry = await readRegistry(trx, this.#keys);
    const count = registry.state === 'valid' ? registry.count : 0;
    const heads: HeadReading[] = [];
    for (let chain = 0; chain <= count; chain++) heads.push(await readHead(trx, this.#keys, chain));
    const headBeyond =
      registry.state !== 'invalid' && (await getMeta(trx, headMetaKey(count + 1))) !== undefined;
    return { registry, heads, headBeyond, maxSeq: await highestAuditSeq(trx) };
  }

  /** Why an entry that does not authenticate is broken (see the module comment). */
  async #classify(
    db: Kysely<LockboxSchema>,
    row: ChainRow,
    key: AuditMacKey | undefined,
    prevHash: string,
  ): Promise<[AuditBreak, string]> {
    const position = row.chain_seq;
    const name = entryName(row.chain, position);
    const next = await this.#nextInChain(db, row);
    const original = originalPosition(key, row);
    if (original !== undefined && original > position) {
      const nextKey = next?.key_id == null ? undefined : await this.#keys.byId(next.key_id, db);
      const nextOriginal = next === undefined ? undefined : originalPosition(nextKey, next);
      if (next !== undefined && nextOriginal !== undefined && nextOriginal < next.chain_seq) {
        return ['reordered', `${name} and after were moved out of order`];
      }
      return [
        'deleted',
        `${rangeName(row.chain, position, original - 1)} are missing (later entries renumbered)`,
      ];
    }
    if (original !== undefined && original < position) {
      return ['inserted', `${name} is a copy of entry ${original}`];
    }
    if (next !== undefined) {
      const nextKey = next.key_id === null ? undefined : await this.#keys.byId(next.key_id, db);
      if (next.prev_hash === prevHash || originalPosition(nextKey, next) === next.chain_seq - 1) {
        return ['inserted', `${name} was inserted into the chain`];
      }
    }
    return ['edited', `${name} does not authenticate`];
  }

  /** The next entry of the row's chain in the table's order. */
  async #nextInChain(db: Kysely<LockboxSchema>, row: ChainRow): Promise<ChainRow | undefined> {
    let seq = Number(row.seq);
    for (;;) {
      const next = await auditEntryAfter(db, seq);
      if (next === undefined) return undefined;
      seq = Number(next.seq);
      if (Number(next.chain) !== row.chain) continue;
      if (next.chain_seq === null) return undefined;
      return { ...next, chain: row.chain, chain_seq: Number(next.chain_seq) };
    }
  }
}

/** A row whose chain and position are numbers. */
type ChainRow = Omit<AuditTable, 'seq' | 'chain_seq'> & { seq: unknown; chain_seq: number };

/** Whether the row's stored hash is its MAC when placed at `position`. */
function authentic(key: AuditMacKey | undefined, row: ChainRow, position: number): boolean {
  if (key === undefined) return false;
  try {
    return entryHash(key, { ...row, chain_seq: position }) === row.hash;
  } catch {
    // Text that cannot be encoded (edited into the database) does not authenticate.
    return false;
  }
}

/** The position (near its current one) under which a renumbered row authenticates, if any. */
function originalPosition(key: AuditMacKey | undefined, row: ChainRow): number | undefined {
  const position = row.chain_seq;
  if (authentic(key, row, position)) return position;
  for (let d = 1; d <= RENUMBER_WINDOW; d++) {
    if (authentic(key, row, position + d)) return position + d;
    if (position - d >= 1 && authentic(key, row, position - d)) return position - d;
  }
  return undefined;
}
