/**
 * The audit log: append-only, hash-chained and keyed, in table lockbox_audit.
 *
 * Contracts:
 * - `record` appends one entry to this handle's chain (chain 0, shared, unless
 *   the handle holds one of its own: audit-chains.ts) at position = previous + 1
 *   with hash = HMAC(K, enc(prev_hash, position, …)), and moves that chain's
 *   MACed head (lockbox_meta) in the same transaction. Appends to one chain from
 *   any number of handles, processes and instances are serialised, so a chain
 *   never forks and its positions stay contiguous: by a compare-and-swap on the
 *   head this handle last wrote (head-cas-append.ts), or, when another appender
 *   moved it, under the chain's lock (advisory lock and head row lock on
 *   PostgreSQL, the write lock on SQLite). Either way an entry is committed
 *   before `record` resolves. Events recorded concurrently on one handle share a
 *   transaction (group commit).
 * - An entry holds who, what, which scope/name, the outcome and the request id —
 *   never a value or a key (the event type has no field for either).
 * - If the head is missing or fails its MAC while entries exist, appends go on
 *   (auditing does not stop) but the head is left as found, so `verify` keeps
 *   reporting the break instead of an append quietly repairing it.
 * - `verify` pages through the log in bounded memory (see audit-verifier.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowIso } from '../clock.js';
import { LockboxError } from '../errors.js';
import {
  auditEntries,
  insertAuditEntries,
  lastChainEntry,
  type NewAuditRow,
} from '../store/audit-rows.js';
import type { Store } from '../store/connect.js';
import { getMeta } from '../store/meta-rows.js';
import type { AuditEvent, AuditSink } from '../vault/audit-sink.js';
import { META } from '../vault/store-meta.js';
import { type AuditAnchor, checkAnchor, makeAnchor, parseAnchor } from './audit-anchor.js';
import { entryHash, lockAuditChain } from './audit-chain.js';
import { ChainLease, readRegistry } from './audit-chains.js';
import {
  type AuditEntry,
  checkOutcome,
  cleanDetails,
  cleanOptionalText,
  cleanText,
  GENESIS_HASH,
  toAuditEntry,
} from './audit-entry.js';
import { type AuditHead, encodeHead, readHead, writeHead } from './audit-head.js';
import {
  type AuditKeySource,
  AuditKeys,
  type AuditMacKey,
  activeAuditKeyId,
} from './audit-keys.js';
import {
  AuditVerifier,
  type AuditVerifyResult,
  type ChainHead,
  type VerifyOptions,
} from './audit-verifier.js';
import { GroupCommit } from './group-commit.js';
import { casAppend } from './head-cas-append.js';
import { checkRowStates, type RowStateCheck } from './row-state-check.js';
import { checkSecretVersions, type SecretVersionCheck } from './secret-version-check.js';

export interface AuditListOptions {
  /** Only entries with seq greater than this (a cursor: pass the last seq you saw). */
  after?: number;
  /** Only entries with seq less than this. */
  before?: number;
  /** At most this many entries (default 100, at most 1000). */
  limit?: number;
  /** 'asc' (default, oldest first) or 'desc' (newest first). */
  order?: 'asc' | 'desc';
  /** Only entries with exactly this action, e.g. "secret.read". */
  action?: string;
  /** Only entries about exactly this scope. */
  scope?: string;
}

export const DEFAULT_AUDIT_PAGE = 100;
export const MAX_AUDIT_PAGE = 1000;
const APPEND_ATTEMPTS = 5;
/** Entries per append transaction at most (bounded so one insert statement stays small). */
const MAX_APPEND_BATCH = 200;

type PreparedEvent = Omit<
  NewAuditRow,
  'chain' | 'chain_seq' | 'prev_hash' | 'hash' | 'key_id' | 'at'
>;

/** A head this handle wrote (committed) or authenticated, with its exact stored text. */
type KnownHead = AuditHead & { chain: number; keyId: string; text: string };

export interface AuditLogOptions {
  /**
   * Append to a chain of this handle's own (audit-chains.ts), held under a lease
   * until `close`, instead of the shared chain 0: for a long-running process
   * that appends alongside other instances (`lockbox serve` sets it). Default false.
   */
  ownChain?: boolean;
}

/** Thrown inside an append whose key is no longer the audit scope's active key. */
class RetiredAuditKey extends Error {}

/** Thrown inside an append to a held chain whose head does not authenticate. */
class UnusableChain extends Error {}

export class AuditLog implements AuditSink {
  readonly #store: Pick<Store, 'db' | 'dialect' | 'sqliteConnection' | 'durable'>;
  readonly #keys: AuditKeys;
  readonly #verifier: AuditVerifier;
  readonly #queue: GroupCommit<PreparedEvent>;
  /** The head as this handle last wrote it; undefined until then and after any failed append. */
  #head: KnownHead | undefined;
  readonly #lease: ChainLease | undefined;

  constructor(
    store: Pick<Store, 'db' | 'dialect' | 'sqliteConnection' | 'durable'>,
    dataKeys: AuditKeySource,
    options: AuditLogOptions = {},
  ) {
    this.#store = store;
    this.#keys = new AuditKeys(store.db, dataKeys);
    this.#lease = options.ownChain === true ? new ChainLease(store, this.#keys) : undefined;
    this.#verifier = new AuditVerifier(store, this.#keys);
    this.#queue = new GroupCommit((events) => this.#appendWithRetry(events), MAX_APPEND_BATCH);
  }

  /**
   * Appends one entry; resolves once it is committed. Throws INVALID_ARGUMENT for a
   * malformed event (bad outcome, details naming a value or key, details over
   * 4 KiB) and STORE_FAILED when the database refuses the append after a few
   * retries. Concurrent calls on one handle are committed together (group-commit.ts).
   */
  record(event: AuditEvent): Promise<void> {
    try {
      return this.#queue.add(prepare(event));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The chain this handle holds, if it holds one (undefined: it appends to chain 0). */
  get chain(): number | undefined {
    return this.#lease?.chain;
  }

  /** Gives back the chain this handle holds, if any; appends after this go to chain 0. */
  async close(): Promise<void> {
    await this.#lease?.release();
  }

  async #appendWithRetry(events: PreparedEvent[]): Promise<void> {
    let key = await this.#keys.current();
    for (let attempt = 1; ; attempt++) {
      try {
        const chain = (await this.#lease?.acquire(key)) ?? 0;
        await this.#append(events, key, chain);
        return;
      } catch (err) {
        if (err instanceof UnusableChain) {
          // Auditing goes on in chain 0; verify reports the held chain's head.
          this.#lease?.abandon();
          attempt -= 1;
          continue;
        }
        if (err instanceof RetiredAuditKey && attempt < APPEND_ATTEMPTS) {
          // A re-key (here or in another instance) retired the key this handle held.
          this.#keys.forgetCurrent();
          key = await this.#keys.current();
          continue;
        }
        if (err instanceof LockboxError) throw err;
        if (attempt < APPEND_ATTEMPTS && isRetryable(err)) {
          await sleep(5 * attempt + Math.floor(Math.random() * 10));
          continue;
        }
        throw new LockboxError('STORE_FAILED', 'could not append to the audit log', {
          cause: err,
        });
      }
    }
  }

  /**
   * Appends `events` as consecutive entries: by a compare-and-swap on the head
   * this handle last wrote or authenticated, when it has one under this key
   * (head-cas-append.ts); otherwise, or when another appender moved the head, in
   * one transaction under the chain lock.
   */
  async #append(events: PreparedEvent[], key: AuditMacKey, chain: number): Promise<void> {
    // Taken, not peeked: after any failure the next attempt goes the locked way,
    // which re-reads the head and the table.
    const known = this.#head;
    this.#head = undefined;
    if (known !== undefined && known.keyId === key.id && known.chain === chain) {
      const { rows, head } = chainRows(events, key, chain, known.seq + 1, known.hash);
      const newHead = encodeHead(key, head, chain);
      const appended = await casAppend(this.#store, {
        chain,
        expectedHead: known.text,
        newHead,
        keyId: key.id,
        rows,
      });
      if (appended) {
        this.#head = { ...head, chain, keyId: key.id, text: newHead };
        return;
      }
    }
    await this.#lockedAppend(events, key, chain);
  }

  /** Appends `events` as consecutive entries of `chain` in one transaction under its lock. */
  async #lockedAppend(events: PreparedEvent[], key: AuditMacKey, chain: number): Promise<void> {
    let written: KnownHead | undefined;
    await this.#store.db.transaction().execute(async (trx) => {
      await lockAuditChain(trx, this.#store.dialect, chain);
      // Under the lock, so no entry is MACed under a key a re-key has retired
      // (the verifier refuses an older key after a newer one).
      if ((await activeAuditKeyId(trx)) !== key.id) throw new RetiredAuditKey();
      const head = await readHead(trx, this.#keys, chain);
      const last = await lastChainEntry(trx, chain);
      let seq: number;
      let prevHash: string;
      let moveHead: boolean;
      if (head.state === 'valid') {
        // Chain from the head, not from the table: if the tail was deleted, the new
        // entry leaves a gap that verify reports; rows forged beyond the head are
        // skipped over and reported as inserted.
        seq = Math.max(head.seq, last?.position ?? 0) + 1;
        prevHash = head.hash;
        moveHead = true;
      } else {
        // A chain of its own is created with a head; without one it is not this handle's to extend.
        if (chain !== 0) throw new UnusableChain();
        seq = (last?.position ?? 0) + 1;
        prevHash = last?.hash ?? GENESIS_HASH;
        // A chain starts from nothing only in a store that never had an audit key:
        // an empty table and no head beside an older key means both were deleted,
        // and starting afresh would hide that.
        moveHead = head.state === 'absent' && last === undefined && this.#keys.mayStartChain(key);
      }
      const { rows, head: next } = chainRows(events, key, chain, seq, prevHash);
      await insertAuditEntries(trx, rows);
      if (moveHead) {
        const text = encodeHead(key, next, chain);
        await writeHead(trx, text, chain);
        written = { ...next, chain, keyId: key.id, text };
      }
    });
    // Remembered only once committed: the next append chains from it by compare-and-swap.
    this.#head = written;
  }

  /** Entries in seq order, filtered; page with `after` (ascending) or `before` (descending). */
  async list(options: AuditListOptions = {}): Promise<AuditEntry[]> {
    const limit = options.limit ?? DEFAULT_AUDIT_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
      throw new LockboxError('INVALID_ARGUMENT', `limit must be 1 to ${MAX_AUDIT_PAGE}`);
    }
    for (const bound of [options.after, options.before]) {
      if (bound !== undefined && !Number.isSafeInteger(bound)) {
        throw new LockboxError('INVALID_ARGUMENT', 'after and before must be integers');
      }
    }
    const rows = await auditEntries(this.#store.db, {
      after: options.after,
      before: options.before,
      action: options.action,
      scope: options.scope,
      order: options.order,
      limit,
    });
    return rows.map(toAuditEntry);
  }

  /** The authenticated head (last seq and hash), or null when the log is empty or the head is not valid. */
  async head(): Promise<AuditHead | null> {
    const head = await readHead(this.#store.db, this.#keys);
    return head.state === 'valid' ? { seq: head.seq, hash: head.hash } : null;
  }

  /**
   * Verifies the chain, then compares every secret's stored version with the
   * versions the log recorded (see secret-version-check.ts). Used by `doctor`.
   */
  async checkSecretVersions(): Promise<SecretVersionCheck> {
    return checkSecretVersions(this.#store.db, await this.verify());
  }

  /**
   * Verifies the chain, then compares the token revocations and the recovery
   * recipient it recorded with the tables (see row-state-check.ts): an older
   * genuine row put back, MAC included, is reported. Used by `doctor`.
   */
  async checkRowStates(): Promise<RowStateCheck> {
    return checkRowStates(this.#store.db, await this.verify());
  }

  /**
   * Checks the whole chain and the head, and with `anchor` that the chain still
   * holds the anchored entry and reaches it (audit-anchor.ts). Never throws for
   * tampering (that is the result); throws AUDIT_ANCHOR_INVALID for an anchor that
   * is malformed, of another store or does not authenticate, and throws for a
   * keyring that cannot unwrap the audit key or a database error.
   */
  async verify(
    options: VerifyOptions & { anchor?: string | AuditAnchor } = {},
  ): Promise<AuditVerifyResult> {
    const { anchor, ...rest } = options;
    const parsed = typeof anchor === 'string' ? parseAnchor(anchor) : anchor;
    const verified = await this.#verifier.verify(rest);
    if (parsed === undefined) return verified;
    return checkAnchor(this.#store.db, this.#keys, await this.#storeId(), parsed, verified);
  }

  /**
   * An anchor of the current head, to keep outside the database (`lockbox audit
   * anchor`, `lockbox serve`); null while the log is empty. Throws
   * AUDIT_CHAIN_BROKEN when the head does not authenticate.
   */
  async anchor(): Promise<AuditAnchor | null> {
    // Kept outside the database: the entries it names must outlive a power loss,
    // or a verify after one would report a truncation that nobody made.
    await this.#store.durable();
    const broken = (why: string) =>
      new LockboxError('AUDIT_CHAIN_BROKEN', `cannot anchor the audit log: ${why}`);
    const registry = await readRegistry(this.#store.db, this.#keys);
    if (registry.state === 'invalid') throw broken(registry.why);
    const count = registry.state === 'valid' ? registry.count : 0;
    const heads: ChainHead[] = [];
    let keyId: string | undefined = registry.state === 'valid' ? registry.keyId : undefined;
    for (let chain = 0; chain <= count; chain++) {
      const head = await readHead(this.#store.db, this.#keys, chain);
      if (head.state === 'invalid') throw broken(head.why);
      if (head.state === 'absent') {
        if (chain === 0) continue;
        throw broken(`the head of chain ${chain} is missing`);
      }
      heads.push({ chain, seq: head.seq, hash: head.hash });
      if (count === 0) keyId = head.keyId;
    }
    if (heads.length === 0 || (count === 0 && heads[0]?.seq === 0)) return null;
    const key = keyId === undefined ? undefined : await this.#keys.byId(keyId);
    if (key === undefined) throw broken('the audit head has no key');
    return makeAnchor(key, await this.#storeId(), heads, nowIso());
  }

  async #storeId(): Promise<string> {
    return (await getMeta(this.#store.db, META.storeId)) ?? '';
  }
}

/**
 * `events` as consecutive entries of `chain` from position `firstSeq`, chained
 * from `prevHash` and MACed under `key`, and the head after the last of them.
 */
function chainRows(
  events: readonly PreparedEvent[],
  key: AuditMacKey,
  chain: number,
  firstSeq: number,
  firstPrevHash: string,
): { rows: NewAuditRow[]; head: AuditHead } {
  let seq = firstSeq;
  let prevHash = firstPrevHash;
  const rows: NewAuditRow[] = [];
  for (const event of events) {
    const fields = {
      ...event,
      chain,
      chain_seq: seq,
      at: nowIso(),
      key_id: key.id,
      prev_hash: prevHash,
    };
    const hash = entryHash(key, fields);
    rows.push({ ...fields, hash });
    prevHash = hash;
    seq += 1;
  }
  return { rows, head: { seq: seq - 1, hash: prevHash } };
}

function prepare(event: AuditEvent): PreparedEvent {
  if (typeof event.action !== 'string' || event.action.length === 0) {
    throw new LockboxError('INVALID_ARGUMENT', 'an audit event needs an action');
  }
  return {
    actor_id: cleanOptionalText(event.actor?.id),
    actor_name: cleanOptionalText(event.actor?.name),
    action: cleanText(event.action),
    scope: cleanOptionalText(event.scope),
    name: cleanOptionalText(event.name),
    outcome: checkOutcome(event.outcome),
    request_id: cleanOptionalText(event.requestId),
    details: cleanDetails(event.details),
  };
}

/** Lost races that a fresh attempt resolves: a taken seq, a busy SQLite, a serialisation failure. */
function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === '23505' ||
    code === '40001' ||
    code === '40P01' ||
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_BUSY_SNAPSHOT' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}
