/**
 * Several hash chains in one audit log, so that instances append without
 * waiting for each other.
 *
 * Why: one chain has one head, and every append moves it. With one chain for
 * every instance, each append waits for the previous one's commit (the head
 * row's lock on PostgreSQL), so adding instances adds no audited-read capacity.
 * Chain 0 is shared: the CLI, the library and any short-lived process append to
 * it under its lock, as before. A long-running process (`lockbox serve`) holds a
 * chain of its own, 1 to N, and appends to it by compare-and-swap on that
 * chain's head alone.
 *
 * - The registry (lockbox_meta `audit_chains`) says how many chains there are,
 *   MACed under the audit key: a chain cannot be dropped by deleting its rows
 *   and its head, and entries of a chain it does not list are reported.
 * - A chain is held under a lease (lockbox_locks `audit_chain.<n>`), refreshed
 *   while its holder runs and deleted when it closes. A new holder takes a
 *   chain whose lease is free or stale, and creates chain N + 1 only when every
 *   chain is held, so the number of chains is the most processes that ever held
 *   one at once, not the number of restarts. The lease only keeps holders
 *   apart; correctness does not rest on it: two processes on one chain still
 *   serialise on its head (compare-and-swap, then its lock), and never fork it.
 * - Creating chain n writes its head at position 0 (no entries, genesis hash),
 *   so a chain whose entries and head were all deleted is reported, not taken
 *   for one that was never written.
 *
 * Order across chains is the table's seq, which the database assigns and no
 * MAC covers: within a chain, order, contiguity and content are verified;
 * between chains, entries were concurrent (docs/audit.md).
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { nowIso } from '../clock.js';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { encodeContext } from '../crypto/context.js';
import { lastChainEntry } from '../store/audit-rows.js';
import type { DialectName, Store } from '../store/connect.js';
import {
  deleteLockRow,
  insertLockRowIfFree,
  lockRow,
  refreshLockHeartbeat,
  takeOverLockRow,
} from '../store/lock-rows.js';
import { getMeta, lockMetaRow, setMeta } from '../store/meta-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { GENESIS_HASH } from './audit-entry.js';
import { encodeHead, headMetaKey, readHead, writeHead } from './audit-head.js';
import { type AuditKeys, type AuditMacKey, macHex } from './audit-keys.js';

/** The lockbox_meta key of the registry. */
export const AUDIT_CHAINS_META = 'audit_chains';
/** A holder that has not refreshed its lease for this long is presumed gone. */
export const CHAIN_LEASE_MS = 60_000;
/** How often a holder refreshes its lease. */
export const CHAIN_HEARTBEAT_MS = 15_000;
/** The advisory lock that serialises claims on PostgreSQL ("LKAC"). */
const CLAIM_ADVISORY_LOCK = 0x4c4b4143;

export type RegistryReading =
  | { state: 'absent' }
  | { state: 'valid'; count: number; keyId: string }
  | { state: 'invalid'; why: string };

function registryMac(key: AuditMacKey, count: number): string {
  return macHex(key, encodeContext(['lockbox-audit-chains-v1', String(count)]));
}

export function encodeRegistry(key: AuditMacKey, count: number): string {
  return JSON.stringify({ v: 1, count, keyId: key.id, mac: registryMac(key, count) });
}

/** Reads and authenticates the registry. Never throws for a malformed value: that is tampering. */
export async function readRegistry(
  db: Kysely<LockboxSchema>,
  keys: AuditKeys,
): Promise<RegistryReading> {
  const value = await getMeta(db, AUDIT_CHAINS_META);
  if (value === undefined) return { state: 'absent' };
  let parsed: Partial<Record<'v' | 'count' | 'keyId' | 'mac', unknown>>;
  try {
    parsed = JSON.parse(value) as typeof parsed;
  } catch {
    return { state: 'invalid', why: 'the audit chain registry is not JSON' };
  }
  const { v, count, keyId, mac } = parsed ?? {};
  if (
    v !== 1 ||
    typeof count !== 'number' ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    typeof keyId !== 'string' ||
    typeof mac !== 'string'
  ) {
    return { state: 'invalid', why: 'the audit chain registry is malformed' };
  }
  const key = await keys.byId(keyId, db);
  if (key === undefined) {
    return { state: 'invalid', why: 'the audit chain registry names an unknown key' };
  }
  const expected = Buffer.from(registryMac(key, count), 'utf8');
  if (!constantTimeEqual(expected, Buffer.from(mac, 'utf8'))) {
    return { state: 'invalid', why: 'the audit chain registry MAC does not verify' };
  }
  return { state: 'valid', count, keyId };
}

function leaseName(chain: number): string {
  return `audit_chain.${chain}`;
}

/** Serialises claims inside `trx` (PostgreSQL: an advisory lock; SQLite: the write lock). */
async function lockClaims(trx: Kysely<LockboxSchema>, dialect: DialectName): Promise<void> {
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(${sql.lit(CLAIM_ADVISORY_LOCK)}::int4, hashtext(current_schema()))`.execute(
      trx,
    );
    return;
  }
  await lockMetaRow(trx, dialect, AUDIT_CHAINS_META);
}

/**
 * A chain of this process's own, held under a lease while it runs. `chain` is
 * undefined before the first claim, after `release`, and when no chain can be
 * held (the registry does not authenticate, or a head is missing): the caller
 * then appends to chain 0.
 */
export class ChainLease {
  readonly #store: Pick<Store, 'db' | 'dialect'>;
  readonly #keys: AuditKeys;
  /** Names this process in the lease rows; random, never a secret. */
  readonly holder = `audit-${process.pid}-${randomBytes(6).toString('hex')}`;
  #chain: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Set once a claim found nothing it could hold: no further claims. */
  #unavailable = false;

  constructor(store: Pick<Store, 'db' | 'dialect'>, keys: AuditKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  get chain(): number | undefined {
    return this.#chain;
  }

  /**
   * The chain to append to: the one held, else a newly claimed one (a free or
   * stale chain, or chain N + 1 registered under `key`), else undefined.
   */
  async acquire(key: AuditMacKey): Promise<number | undefined> {
    if (this.#chain !== undefined || this.#unavailable) return this.#chain;
    const chain = await this.#store.db.transaction().execute((trx) => this.#claim(trx, key));
    if (chain === undefined) {
      this.#unavailable = true;
      return undefined;
    }
    this.#chain = chain;
    this.#timer = setInterval(() => void this.#refresh(), CHAIN_HEARTBEAT_MS);
    this.#timer.unref();
    return chain;
  }

  /** Stops using the held chain (its head is unusable, or the lease was lost); appends go to chain 0. */
  abandon(): void {
    this.#stopTimer();
    this.#chain = undefined;
    this.#unavailable = true;
  }

  /** Gives the chain back for another process to hold. */
  async release(): Promise<void> {
    const chain = this.#chain;
    this.#stopTimer();
    this.#chain = undefined;
    this.#unavailable = true;
    if (chain !== undefined) await deleteLockRow(this.#store.db, leaseName(chain), this.holder);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #refresh(): Promise<void> {
    const chain = this.#chain;
    if (chain === undefined) return;
    try {
      const held = await refreshLockHeartbeat(
        this.#store.db,
        leaseName(chain),
        this.holder,
        nowIso(),
      );
      // Taken over after a stall longer than the lease: the other holder has it now.
      if (!held && this.#chain === chain) this.abandon();
    } catch {
      // The database is away; the next refresh tries again, and appends report their own errors.
    }
  }

  async #claim(trx: Kysely<LockboxSchema>, key: AuditMacKey): Promise<number | undefined> {
    await lockClaims(trx, this.#store.dialect);
    const registry = await readRegistry(trx, this.#keys);
    if (registry.state === 'invalid') return undefined;
    const count = registry.state === 'valid' ? registry.count : 0;
    const now = nowIso();
    const staleBefore = new Date(Date.parse(now) - CHAIN_LEASE_MS).toISOString();
    const lease = { holder: this.holder, acquired_at: now, heartbeat_at: now };
    for (let chain = 1; chain <= count; chain++) {
      const name = leaseName(chain);
      const current = await lockRow(trx, name);
      const taken =
        current === undefined
          ? await insertLockRowIfFree(trx, { name, ...lease })
          : current.heartbeat_at < staleBefore && (await takeOverLockRow(trx, current, lease));
      if (!taken) continue;
      if ((await readHead(trx, this.#keys, chain)).state === 'valid') return chain;
      // A chain whose head does not authenticate is left for verify to report.
      await deleteLockRow(trx, name, this.holder);
    }
    // The first chain of one's own, in a log that has not started: chain 0 gets a
    // head at position 0 too, so that deleting it whole later is seen (verify
    // requires chain 0's head once the audit key exists).
    if (
      count === 0 &&
      this.#keys.mayStartChain(key) &&
      (await readHead(trx, this.#keys, 0)).state === 'absent' &&
      (await lastChainEntry(trx, 0)) === undefined
    ) {
      await writeHead(trx, encodeHead(key, { seq: 0, hash: GENESIS_HASH }, 0), 0);
    }
    const next = count + 1;
    // A head beyond the registry: the registry was put back to an older value.
    if ((await getMeta(trx, headMetaKey(next))) !== undefined) return undefined;
    await setMeta(trx, AUDIT_CHAINS_META, encodeRegistry(key, next));
    await writeHead(trx, encodeHead(key, { seq: 0, hash: GENESIS_HASH }, next), next);
    await insertLockRowIfFree(trx, { name: leaseName(next), ...lease });
    return next;
  }
}
