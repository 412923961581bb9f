/**
 * API tokens: created with a set of permissions, shown once, stored only as a
 * hash, verified in constant time, revocable.
 *
 * Contracts:
 * - `create` returns the token text exactly once; nothing Lockbox stores, lists,
 *   logs or audits contains it.
 * - `verify` throws AUTH_INVALID with one and the same message for a malformed
 *   token, an unknown id, a wrong secret, a revoked token and a row that fails its
 *   integrity check (forged, widened, un-revoked, copied), so a caller learns
 *   nothing about which it was; the secret is compared with constantTimeEqual and
 *   the hash is computed even when the id is unknown. The row MAC is computed in
 *   memory on the row already read: no extra database round trip.
 * - Every write (create, revoke) MACs the row under the integrity key
 *   (vault/row-macs.ts TOKEN_MAC); a row that fails its check is never re-MACed
 *   (revoking it sets revoked_at only, so it stays refused).
 * - `last_used_at` is written at most once a minute per token (per process, and
 *   the update itself skips rows touched within the minute by another instance),
 *   so verifying is a read, not a write, on the hot path.
 * - create and revoke are audited (token.create / token.revoke) with the token id,
 *   name and permissions, never the token.
 */
import { nowIso } from '../clock.js';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { LockboxError } from '../errors.js';
import type { Store } from '../store/connect.js';
import {
  allTokens,
  insertTokenIfAbsent,
  markTokenRevoked,
  type TokenRow,
  tokenById,
  touchToken,
} from '../store/token-rows.js';
import type { Actor, AuditSink } from '../vault/audit-sink.js';
import type { IntegrityKey } from '../vault/integrity-key.js';
import { validateName } from '../vault/names.js';
import { rowMac, rowVerifies, TOKEN_MAC } from '../vault/row-macs.js';
import { parsePermissions } from './permissions.js';
import {
  formatToken,
  hashTokenSecret,
  isTokenId,
  KEYED_HASH_PREFIX,
  LEGACY_HASH_PREFIX,
  newTokenId,
  newTokenSecret,
  parseToken,
} from './token-format.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** A token as listed and as `verify` returns it: never the token or its hash. */
export interface TokenInfo {
  id: string;
  name: string;
  permissions: string[];
  createdAt: string;
  createdBy: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** False when the row fails its integrity check: such a token never verifies. */
  authentic: boolean;
}

export interface CreateTokenOptions {
  /** A label for people ("ci-deploy"); same rules as a secret name. */
  name: string;
  /** Permission strings, validated by parsePermissions. */
  permissions: readonly string[];
  createdBy?: Actor;
  requestId?: string;
}

export interface CreatedToken {
  id: string;
  /** `lbx_<id>_<secret>` — shown once; Lockbox keeps only its hash. */
  token: string;
  info: TokenInfo;
}

export interface TokenActionOptions {
  actor?: Actor;
  requestId?: string;
}

/** How often last_used_at is written per token. */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;
const MAX_TOUCH_MEMORY = 10_000;
const INVALID_MESSAGE = 'the bearer token is unknown, revoked or malformed';
/** Compared against when the id is unknown, so that path costs the same as a wrong secret. */
const DUMMY_HASH = `${KEYED_HASH_PREFIX}${'0'.repeat(64)}`;

/** Where the integrity key comes from (DataKeys, opened once per handle). */
export interface IntegritySource {
  readonly integrity: IntegrityKey;
}

export class Tokens {
  readonly #store: Pick<Store, 'db' | 'durable'>;
  readonly #keys: IntegritySource;
  readonly #audit: AuditSink | undefined;
  readonly #touched = new Map<string, number>();
  readonly #verified = new VerifiedTokenCache();
  /** Bumped by every revoke, so a verify that raced one does not cache its result. */
  #revocations = 0;

  constructor(store: Pick<Store, 'db' | 'durable'>, keys: IntegritySource, audit?: AuditSink) {
    this.#store = store;
    this.#keys = keys;
    this.#audit = audit;
  }

  /** Creates a token. Throws NAME_INVALID or INVALID_ARGUMENT (unknown permission). */
  async create(options: CreateTokenOptions): Promise<CreatedToken> {
    const name = validateName(options.name);
    const permissions = parsePermissions(options.permissions);
    const now = nowIso();
    const integrity = this.#keys.integrity;
    for (let attempt = 1; ; attempt++) {
      const id = newTokenId();
      const secret = newTokenSecret();
      const row = {
        id,
        name,
        hash: `${KEYED_HASH_PREFIX}${integrity.tokenHash(id, secret)}`,
        permissions: JSON.stringify(permissions),
        created_at: now,
        revoked_at: null,
      };
      const inserted = await insertTokenIfAbsent(this.#store.db, {
        ...row,
        created_by: options.createdBy?.id ?? null,
        last_used_at: null,
        mac: rowMac(integrity, TOKEN_MAC, row),
      });
      if (!inserted) {
        // A 48-bit id collided; vanishingly rare, so a few attempts suffice.
        if (attempt >= 3) throw new LockboxError('INTERNAL', 'could not allocate a token id');
        continue;
      }
      const token = formatToken(id, secret);
      secret.fill(0);
      const info: TokenInfo = {
        id,
        name,
        permissions,
        createdAt: now,
        createdBy: options.createdBy?.id ?? null,
        lastUsedAt: null,
        revokedAt: null,
        authentic: true,
      };
      await this.#audit?.record({
        action: 'token.create',
        outcome: 'ok',
        details: { tokenId: id, tokenName: name, permissions },
        ...(options.createdBy === undefined ? {} : { actor: options.createdBy }),
        requestId: options.requestId ?? null,
      });
      return { id, token, info };
    }
  }

  /**
   * The token's record when `tokenText` is a valid, unrevoked token; otherwise
   * AUTH_INVALID (always the same message). Updates last_used_at at most once a minute.
   *
   * With `cacheMs` (the server passes 1000), a token that verified from the
   * database in the last `cacheMs` is accepted from memory (verified-token-cache.ts):
   * a revocation by another instance is then seen within `cacheMs` of its commit;
   * one through this handle (`revoke`) at once. Without it, every call reads the row.
   */
  async verify(tokenText: string, options: { cacheMs?: number } = {}): Promise<TokenInfo> {
    const cacheMs = options.cacheMs ?? 0;
    if (cacheMs <= 0) return this.#verify(tokenText);
    const key = VerifiedTokenCache.keyOf(tokenText);
    const now = Date.now();
    const known = this.#verified.get(key, now);
    if (known !== undefined) {
      await this.#touch(known);
      return { ...known, permissions: [...known.permissions] };
    }
    const generation = this.#revocations;
    const info = await this.#verify(tokenText);
    // A revoke on this handle while the row was being read must not be undone by caching.
    if (generation === this.#revocations) this.#verified.set(key, info, now, cacheMs);
    return { ...info, permissions: [...info.permissions] };
  }

  async #verify(tokenText: string): Promise<TokenInfo> {
    const parsed = parseToken(tokenText);
    if (parsed === undefined) throw invalid();
    const row = await this.#row(parsed.id);
    const integrity = this.#keys.integrity;
    const stored = row?.hash ?? DUMMY_HASH;
    const computed = stored.startsWith(LEGACY_HASH_PREFIX)
      ? hashTokenSecret(parsed.id, parsed.secret)
      : `${KEYED_HASH_PREFIX}${integrity.tokenHash(parsed.id, parsed.secret)}`;
    parsed.secret.fill(0);
    const match = constantTimeEqual(Buffer.from(stored, 'utf8'), Buffer.from(computed, 'utf8'));
    const authentic = row !== undefined && rowVerifies(integrity, TOKEN_MAC, row, row.mac);
    if (row === undefined || !match || !authentic || row.revoked_at !== null) throw invalid();
    const info = toInfo(row, true);
    await this.#touch(info);
    return info;
  }

  /** Every token (revoked ones too, marked by revokedAt), oldest first, without hashes. */
  async list(): Promise<TokenInfo[]> {
    const rows = await allTokens(this.#store.db, 'created');
    return rows.map((row) => this.#info(row));
  }

  /** One token's record. Throws TOKEN_NOT_FOUND. */
  async get(id: string): Promise<TokenInfo> {
    const row = isTokenId(id) ? await this.#row(id) : undefined;
    if (row === undefined) throw notFound(id);
    return this.#info(row);
  }

  /**
   * Revokes a token; it fails verification from then on. Revoking a revoked token
   * changes nothing and is not an error. Throws TOKEN_NOT_FOUND.
   */
  async revoke(id: string, options: TokenActionOptions = {}): Promise<TokenInfo> {
    if (!isTokenId(id)) throw notFound(id);
    this.#revocations += 1;
    this.#verified.forget(id);
    const integrity = this.#keys.integrity;
    const before = await this.#row(id);
    if (before === undefined) throw notFound(id);
    const revoking = before.revoked_at === null;
    if (revoking) {
      const revoked = { ...before, revoked_at: nowIso() };
      const authentic = rowVerifies(integrity, TOKEN_MAC, before, before.mac);
      // A row that fails its check keeps failing it: revoked_at only, never a fresh MAC.
      await markTokenRevoked(
        this.#store.db,
        id,
        revoked.revoked_at,
        authentic ? rowMac(integrity, TOKEN_MAC, revoked) : undefined,
      );
    }
    // Again after the write: a verify that read the row before it may have cached it meanwhile.
    this.#revocations += 1;
    this.#verified.forget(id);
    const row = await this.#row(id);
    if (row === undefined) throw notFound(id);
    await this.#audit?.record({
      action: 'token.revoke',
      outcome: 'ok',
      details: { tokenId: id, tokenName: row.name },
      ...(options.actor === undefined ? {} : { actor: options.actor }),
      requestId: options.requestId ?? null,
    });
    // Whoever is told "revoked" acts on it (hands out a new token, closes the incident):
    // a power loss must not bring the old one back. Flushed with its audit entry, so a
    // failed flush (STORE_FLUSH_FAILED) leaves no revocation unaudited.
    if (revoking) await this.#store.durable();
    return this.#info(row);
  }

  #info(row: TokenRow): TokenInfo {
    return toInfo(row, rowVerifies(this.#keys.integrity, TOKEN_MAC, row, row.mac));
  }

  #row(id: string): Promise<TokenRow | undefined> {
    return tokenById(this.#store.db, id);
  }

  async #touch(info: TokenInfo): Promise<void> {
    const nowMs = Date.now();
    const last =
      this.#touched.get(info.id) ??
      (info.lastUsedAt === null ? Number.NaN : Date.parse(info.lastUsedAt));
    if (Number.isFinite(last) && nowMs - last < TOKEN_TOUCH_INTERVAL_MS) return;
    if (this.#touched.size >= MAX_TOUCH_MEMORY) this.#touched.clear();
    this.#touched.set(info.id, nowMs);
    const now = new Date(nowMs).toISOString();
    const staleBefore = new Date(nowMs - TOKEN_TOUCH_INTERVAL_MS).toISOString();
    await touchToken(this.#store.db, info.id, now, staleBefore);
  }
}

function invalid(): LockboxError {
  return new LockboxError('AUTH_INVALID', INVALID_MESSAGE);
}

function notFound(id: string): LockboxError {
  // Only a well-formed id is echoed: the argument might be a whole token pasted by mistake.
  if (!isTokenId(id)) return new LockboxError('TOKEN_NOT_FOUND', 'no token has the given id');
  return new LockboxError('TOKEN_NOT_FOUND', `no token with id ${id}`, {
    details: { tokenId: id },
  });
}

function toInfo(row: TokenRow, authentic: boolean): TokenInfo {
  let permissions: string[] = [];
  try {
    const parsed: unknown = JSON.parse(row.permissions);
    if (Array.isArray(parsed))
      permissions = parsed.filter((p): p is string => typeof p === 'string');
  } catch {
    // A row edited into nonsense grants nothing.
  }
  return {
    id: row.id,
    name: row.name,
    permissions,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    authentic,
  };
}
