/**
 * Recovery: an age X25519 recipient that every data key is also wrapped to, so
 * that losing the master key is survivable. Lockbox stores only the recipient
 * (META.recoveryRecipient) and the wraps (lockbox_data_keys.wrapped_recovery);
 * the identity stays offline.
 *
 * Contracts:
 * - The recipient is authenticated under the integrity key (vault/authenticated-meta.ts):
 *   one that fails its check is never wrapped to (RECOVERY_RECIPIENT_UNAUTHENTICATED)
 *   and `recipient()` reports it as `{ broken: true }`.
 * - Every data key is wrapped to the recipient current when the key is made:
 *   DataKeys.create reads it in its own transaction (data keys are made rarely),
 *   so an instance started before `recovery add` on another instance wraps its
 *   new keys too. Master rotation keeps wraps valid (a data key's bytes never
 *   change); data re-key reads the recipient the same way.
 * - `add` / `replace` rewrap every live data key for the recipient in one
 *   transaction, holding the rotation lock; a failure changes nothing. `add` with
 *   the recipient already set fills gaps; `replace` is the way out of a broken one.
 * - `recoverStore` (see recover-store.ts) rebuilds access without the old key.
 */
import type { Kysely } from 'kysely';
import { isLockboxError, LockboxError } from '../errors.js';
import { parseAgeRecipient, wrapToRecipient } from '../keys/age-identity.js';
import { withRotationLock } from '../rotation/rotation-lock.js';
import {
  liveDataKeysAfter,
  recoveryWrapCoverage,
  setRecoveryWrap,
} from '../store/data-key-backup-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import type { AuditSink } from '../vault/audit-sink.js';
import {
  authenticatedRecipient,
  getAuthenticatedMeta,
  setAuthenticatedMeta,
  unauthenticatedRecipient,
} from '../vault/authenticated-meta.js';
import type { Vault } from '../vault/lockbox.js';
import { META } from '../vault/store-meta.js';
import type { BackupCaller } from './backup.js';
import { type RecoverStoreOptions, type RecoverySummary, recoverStore } from './recover-store.js';

export interface RecoveryChange {
  recipient: string;
  /** The recipient this replaced, if any. */
  previous?: string;
  /** Data keys (re)wrapped for the recipient. */
  rewrapped: number;
  /** Live data keys in the store. */
  dataKeys: number;
}

export interface RecoveryCoverage {
  recipient?: string;
  /** Live data keys. */
  dataKeys: number;
  /** Live data keys with no recovery wrap. */
  missing: number;
}

const PAGE = 500;

export class Recovery {
  readonly #vault: Pick<Vault, 'store' | 'dataKeys' | 'storeId'>;
  readonly #audit: AuditSink | undefined;

  constructor(vault: Pick<Vault, 'store' | 'dataKeys' | 'storeId'>, audit?: AuditSink) {
    this.#vault = vault;
    this.#audit = audit;
  }

  /**
   * Rebuilds access to a store whose master key is lost; see recover-store.ts.
   * Opens the store itself, without the startup key check.
   */
  static recoverStore(options: RecoverStoreOptions): Promise<RecoverySummary> {
    return recoverStore(options);
  }

  /**
   * The authenticated recipient, or undefined when none is set. Throws
   * RECOVERY_RECIPIENT_UNAUTHENTICATED when the stored one fails its check.
   */
  async recipient(): Promise<string | undefined> {
    return authenticatedRecipient(this.#vault.store.db, this.#vault.dataKeys.integrity);
  }

  async coverage(): Promise<RecoveryCoverage> {
    const db = this.#vault.store.db;
    const rows = await recoveryWrapCoverage(db);
    const recipient = await this.recipient().catch((err: unknown) => {
      if (isLockboxError(err, 'RECOVERY_RECIPIENT_UNAUTHENTICATED')) return undefined;
      throw err;
    });
    const total = Number(rows.total);
    return {
      ...(recipient === undefined ? {} : { recipient }),
      dataKeys: total,
      missing: total - Number(rows.wrapped),
    };
  }

  /**
   * Sets the recovery recipient and wraps every live data key to it. Running it
   * again with the same recipient fills gaps (keys without a wrap). Throws
   * RECIPIENT_INVALID, INVALID_ARGUMENT when a different recipient is already set
   * (use `replace`), ROTATION_IN_PROGRESS, and DATA_KEY_UNDECRYPTABLE /
   * KEY_NOT_IN_KEYRING when the keyring cannot open a data key.
   */
  add(recipient: string, options: BackupCaller = {}): Promise<RecoveryChange> {
    return this.#set(recipient, false, options);
  }

  /**
   * Replaces the recovery recipient: every live data key is rewrapped to the new
   * one, so the old identity can no longer recover this store (copies of the
   * database taken earlier still hold the old wraps). Throws RECOVERY_NOT_CONFIGURED
   * when none is set (use `add`), and as `add` otherwise.
   */
  replace(recipient: string, options: BackupCaller = {}): Promise<RecoveryChange> {
    return this.#set(recipient, true, options);
  }

  async #set(text: string, replace: boolean, caller: BackupCaller): Promise<RecoveryChange> {
    const recipient = parseAgeRecipient(text);
    const { store, storeId } = this.#vault;
    const integrity = this.#vault.dataKeys.integrity;
    const change: RecoveryChange = await withRotationLock(store, storeId, async (lock) =>
      store.db.transaction().execute(async (trx) => {
        await lock.touch(trx);
        const stored = await getAuthenticatedMeta(trx, integrity, META.recoveryRecipient);
        // A broken recipient is never kept or filled in: only replace overwrites it.
        if (stored.state === 'broken' && !replace) throw unauthenticatedRecipient();
        const current = stored.state === 'valid' ? stored.value : undefined;
        if (!replace && current !== undefined && current !== recipient) {
          throw new LockboxError(
            'INVALID_ARGUMENT',
            `a different recovery recipient (${current}) is already set; use recovery replace`,
            { details: { current } },
          );
        }
        if (replace && stored.state === 'absent') {
          throw new LockboxError(
            'RECOVERY_NOT_CONFIGURED',
            'there is no recovery recipient to replace; use recovery add',
          );
        }
        // Re-adding the same recipient only fills gaps; anything else rewraps all.
        const onlyMissing = current === recipient && !replace;
        const counts = await rewrapAll(trx, this.#vault.dataKeys, recipient, onlyMissing);
        await setAuthenticatedMeta(trx, integrity, META.recoveryRecipient, recipient);
        return {
          recipient,
          ...(current === undefined || current === recipient ? {} : { previous: current }),
          ...counts,
        };
      }),
    );
    await this.#audit?.record({
      action: 'recovery.set',
      outcome: 'ok',
      details: {
        recipient: change.recipient,
        ...(change.previous === undefined ? {} : { previous: change.previous }),
        rewrapped: change.rewrapped,
        replace,
      },
      ...(caller.actor === undefined ? {} : { actor: caller.actor }),
      ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
    });
    // Reported set, the identity is relied on from now on (and the old one may be destroyed).
    // Flushed with its audit entry (a failed flush leaves nothing unaudited).
    await store.durable();
    return change;
  }
}

async function rewrapAll(
  trx: Kysely<LockboxSchema>,
  dataKeys: Vault['dataKeys'],
  recipient: string,
  onlyMissing: boolean,
): Promise<{ rewrapped: number; dataKeys: number }> {
  let rewrapped = 0;
  let total = 0;
  let after = '';
  for (;;) {
    const rows = await liveDataKeysAfter(trx, after, PAGE);
    for (const row of rows) {
      total += 1;
      if (onlyMissing && row.wrapped_recovery !== null) continue;
      const open = dataKeys.unwrapRow(row);
      const bytes = open.key.export();
      try {
        const wrapped = await wrapToRecipient(recipient, bytes);
        await setRecoveryWrap(trx, row.id, wrapped);
      } finally {
        bytes.fill(0);
      }
      rewrapped += 1;
    }
    if (rows.length < PAGE) break;
    after = (rows[rows.length - 1] as (typeof rows)[number]).id;
  }
  return { rewrapped, dataKeys: total };
}
