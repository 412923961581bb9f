/**
 * The integrity key: the key that authenticates every security-relevant row
 * (token records, field registrations, master-key records, the recovery
 * recipient), so that someone who can write Lockbox's tables but holds no master
 * key cannot forge, widen or redirect any of them.
 *
 * Like the audit key it is an ordinary data key of a reserved internal scope
 * ("lockbox:integrity"), stored only wrapped under the master key (and to the
 * recovery recipient), so master rotation rewraps it and recovery carries it; a
 * data re-key leaves it alone (internal scopes are skipped). Two keys are derived
 * from it with HKDF under their own info strings: the row-MAC key and the
 * token-hash key, so its bytes serve one purpose each.
 *
 * Contracts:
 * - It is created exactly twice in a store's life at most: by `initialise` (a new
 *   store) and by migration 0003_integrity (a store that predates it). It is
 *   never created lazily: `openIntegrityKey` throws INTEGRITY_KEY_MISSING when the
 *   row is gone, so deleting it cannot make Lockbox mint a fresh key and then MAC
 *   rows a database writer planted.
 * - It is opened once per handle (Vault.open); checks are HMACs in memory on rows
 *   already read, so no hot path gains a database round trip.
 */
import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { nowIso } from '../clock.js';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { dataKeyContext, encodeContext } from '../crypto/context.js';
import { hkdfSha256 } from '../crypto/hkdf.js';
import { DATA_KEY_BYTES } from '../crypto/wrapped-key.js';
import { LockboxError } from '../errors.js';
import { wrapToRecipient } from '../keys/age-identity.js';
import type { Keyring } from '../keys/keyring.js';
import { activeDataKeysOf, insertDataKey, scopeHasDataKey } from '../store/data-key-rows.js';
import type { LockboxSchema } from '../store/schema.js';
import { unwrapDataKeyRow } from './data-key-unwrap.js';

export const INTEGRITY_SCOPE = 'lockbox:integrity';

const ROW_MAC_INFO = Buffer.from('lockbox row mac v1', 'utf8');
const TOKEN_HASH_INFO = Buffer.from('lockbox token hash v1', 'utf8');
/** Stored MAC text: `lbm1:<integrity key id, 16 hex>:<HMAC-SHA256, 64 hex>`. */
const MAC_PREFIX = 'lbm1:';
const MAC_TEXT = /^lbm1:([0-9a-f]{16}):([0-9a-f]{64})$/;

/** A column value as MACed: null and text are told apart (see docs/format.md). */
export type MacPart = string | null;

export class IntegrityKey {
  /** The data key id of the integrity key (16 hex), named in every MAC. */
  readonly id: string;
  readonly #rowKey: KeyObject;
  readonly #tokenKey: KeyObject;

  constructor(id: string, key: KeyObject) {
    this.id = id;
    const bytes = key.export();
    const rowBytes = hkdfSha256(bytes, Buffer.alloc(0), ROW_MAC_INFO, 32);
    const tokenBytes = hkdfSha256(bytes, Buffer.alloc(0), TOKEN_HASH_INFO, 32);
    bytes.fill(0);
    this.#rowKey = createSecretKey(rowBytes);
    this.#tokenKey = createSecretKey(tokenBytes);
    rowBytes.fill(0);
    tokenBytes.fill(0);
  }

  /**
   * The MAC text of a row: HMAC-SHA256 over enc([domain, "1", …parts]) where each
   * part is "-" for null or "+" followed by the value as its own part.
   */
  mac(domain: string, parts: readonly MacPart[]): string {
    return `${MAC_PREFIX}${this.id}:${this.#digest(domain, parts).toString('hex')}`;
  }

  /** True when `stored` is this key's MAC of the row; constant time; never throws. */
  verify(domain: string, parts: readonly MacPart[], stored: string | null | undefined): boolean {
    if (typeof stored !== 'string') return false;
    const match = MAC_TEXT.exec(stored);
    if (match === null || match[1] !== this.id) return false;
    return constantTimeEqual(Buffer.from(match[2] as string, 'hex'), this.#digest(domain, parts));
  }

  /** HMAC-SHA256 under the token-hash key over enc(["token", id]) ‖ secret, as hex. */
  tokenHash(id: string, secret: Uint8Array): string {
    return createHmac('sha256', this.#tokenKey)
      .update(encodeContext(['token', id]))
      .update(secret)
      .digest('hex');
  }

  #digest(domain: string, parts: readonly MacPart[]): Buffer {
    const encoded: string[] = [domain, '1'];
    for (const part of parts) {
      if (part === null) encoded.push('-');
      else encoded.push('+', part);
    }
    return createHmac('sha256', this.#rowKey).update(encodeContext(encoded)).digest();
  }
}

/**
 * Opens the store's integrity key. Throws INTEGRITY_KEY_MISSING when the store has
 * no active integrity key (its row was deleted or edited), and the unwrap errors
 * (KEY_NOT_IN_KEYRING, DATA_KEY_UNDECRYPTABLE) when the keyring cannot open it.
 */
export async function openIntegrityKey(
  db: Kysely<LockboxSchema>,
  keyring: Keyring,
): Promise<IntegrityKey> {
  const rows = await activeDataKeysOf(db, INTEGRITY_SCOPE);
  if (rows.length !== 1) {
    throw new LockboxError(
      'INTEGRITY_KEY_MISSING',
      rows.length === 0
        ? 'the store has no integrity key (its row was deleted or edited); Lockbox never re-creates it: restore the database from a backup or run lockbox doctor'
        : 'the store has more than one active integrity key (rows were edited); restore the database from a backup',
      { details: { scope: INTEGRITY_SCOPE, found: rows.length } },
    );
  }
  const open = unwrapDataKeyRow(keyring, rows[0] as (typeof rows)[number]);
  return new IntegrityKey(open.id, open.key);
}

/**
 * Creates the integrity key (version 1 of the internal scope), wrapped under the
 * primary master key and, when given, to the recovery recipient. Only
 * `initialise` and migration 0003_integrity call it, inside their transaction;
 * it refuses (INTEGRITY_KEY_MISSING) when any integrity key row already exists,
 * whatever its state, so it can never replace one.
 */
export async function createIntegrityKey(
  trx: Kysely<LockboxSchema>,
  keyring: Keyring,
  recoveryRecipient: string | undefined,
): Promise<IntegrityKey> {
  if (await scopeHasDataKey(trx, INTEGRITY_SCOPE)) {
    throw new LockboxError(
      'INTEGRITY_KEY_MISSING',
      'an integrity key row already exists but is not usable; it is never replaced',
      { details: { scope: INTEGRITY_SCOPE } },
    );
  }
  const id = randomBytes(8).toString('hex');
  const bytes = randomBytes(DATA_KEY_BYTES);
  try {
    const now = nowIso();
    await insertDataKey(trx, {
      id,
      scope: INTEGRITY_SCOPE,
      version: 1,
      wrapped: keyring.wrap(bytes, dataKeyContext(INTEGRITY_SCOPE, id)),
      master_fingerprint: keyring.primary.fingerprint,
      wrapped_recovery:
        recoveryRecipient === undefined ? null : await wrapToRecipient(recoveryRecipient, bytes),
      state: 'active',
      created_at: now,
      updated_at: now,
    });
    return new IntegrityKey(id, createSecretKey(bytes));
  } finally {
    bytes.fill(0);
  }
}
