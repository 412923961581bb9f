/**
 * Logged-in sessions on one token, with the key object's handle, re-opened when
 * the module drops them.
 *
 * pkcs11js calls are synchronous, so one JavaScript thread uses one session at a
 * time; idle sessions are kept (up to MAX_IDLE) so a burst of wraps does not pay
 * C_OpenSession each time. When a call fails because the session, the login or
 * the token went away (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED,
 * CKR_TOKEN_NOT_PRESENT, …), every cached session is dropped, the slot, login and
 * key handle are found again, and the call is retried once; if that fails too,
 * PKCS11_TOKEN_UNAVAILABLE. Nothing is written by a failed call, so the caller's
 * transaction rolls back with nothing changed.
 */
import { LockboxError } from '../../errors.js';
import { type LoadedModule, pkcs11ErrorName } from './pkcs11-module.js';
import type { Pkcs11Uri } from './pkcs11-uri.js';

type Handle = Buffer;
const MAX_IDLE = 4;

/** CKR codes meaning the session, login or token is gone, not that the call was wrong. */
const SESSION_LOST = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_OBJECT_HANDLE_INVALID',
]);

const PIN_REFUSED = new Set(['CKR_PIN_INCORRECT', 'CKR_PIN_LOCKED', 'CKR_PIN_LEN_RANGE']);

export function isSessionLost(err: unknown): boolean {
  return SESSION_LOST.has(pkcs11ErrorName(err) ?? '');
}

/** Trims the blank and NUL padding of a CK_TOKEN_INFO label. */
function label(raw: string): string {
  return raw.replace(/[\s\u0000]+$/, '');
}

export class Pkcs11Sessions {
  readonly #loaded: LoadedModule;
  readonly #uri: Pkcs11Uri;
  readonly #pin: string | undefined;
  #slot: Handle | undefined;
  #key: Handle | undefined;
  #idle: Handle[] = [];
  #pinProven = false;

  /** `pin` is kept only to log in again after the module drops the login. */
  constructor(loaded: LoadedModule, uri: Pkcs11Uri, pin: string | undefined) {
    this.#loaded = loaded;
    this.#uri = uri;
    this.#pin = pin;
  }

  /** The slot holding the token; PKCS11_TOKEN_NOT_FOUND when none (or several) match. */
  slot(): Handle {
    if (this.#slot !== undefined) return this.#slot;
    const { module } = this.#loaded;
    const matches = module.C_GetSlotList(true).filter((slot) => {
      const info = module.C_GetTokenInfo(slot);
      return (
        label(info.label) === this.#uri.token &&
        (this.#uri.serial === undefined || label(info.serialNumber) === this.#uri.serial)
      );
    });
    if (matches.length !== 1) {
      throw new LockboxError(
        'PKCS11_TOKEN_NOT_FOUND',
        matches.length === 0
          ? `no token matches ${this.#uri.display}`
          : `${matches.length} tokens match ${this.#uri.display}; add serial= to the URI`,
        { details: { uri: this.#uri.display, matches: matches.length } },
      );
    }
    this.#slot = matches[0]!;
    return this.#slot;
  }

  #open(): Handle {
    const { binding, module } = this.#loaded;
    const session = module.C_OpenSession(
      this.slot(),
      binding.CKF_SERIAL_SESSION | binding.CKF_RW_SESSION,
    );
    if (this.#pin !== undefined) {
      try {
        module.C_Login(session, binding.CKU_USER, this.#pin);
      } catch (err) {
        const name = pkcs11ErrorName(err);
        // Login is per application: another key of this process may have logged the token
        // in already. The first open proves this PIN anyway (log out, log in again); the
        // other key's sessions see CKR_USER_NOT_LOGGED_IN once and log in again themselves.
        if (name === 'CKR_USER_ALREADY_LOGGED_IN' && !this.#pinProven) {
          module.C_Logout(session);
          try {
            module.C_Login(session, binding.CKU_USER, this.#pin);
          } catch (again) {
            module.C_CloseSession(session);
            throw this.#pinError(again);
          }
        } else if (name !== 'CKR_USER_ALREADY_LOGGED_IN') {
          module.C_CloseSession(session);
          throw this.#pinError(err);
        }
      }
      this.#pinProven = true;
    }
    return session;
  }

  #pinError(err: unknown): unknown {
    const name = pkcs11ErrorName(err);
    if (name === undefined || !PIN_REFUSED.has(name)) return err;
    return new LockboxError(
      'PKCS11_PIN_INCORRECT',
      `the token of ${this.#uri.display} refused the PIN (${name})`,
      { details: { uri: this.#uri.display, reason: name } },
    );
  }

  #findKey(session: Handle): Handle {
    const { binding, module } = this.#loaded;
    module.C_FindObjectsInit(session, [
      { type: binding.CKA_CLASS, value: binding.CKO_SECRET_KEY },
      { type: binding.CKA_LABEL, value: this.#uri.object },
    ]);
    const found = module.C_FindObjects(session, 2);
    module.C_FindObjectsFinal(session);
    if (found.length !== 1) {
      throw new LockboxError(
        'PKCS11_KEY_NOT_FOUND',
        found.length === 0
          ? `no secret key object matches ${this.#uri.display}`
          : `several secret key objects match ${this.#uri.display}`,
        { details: { uri: this.#uri.display, matches: found.length } },
      );
    }
    return found[0]!;
  }

  #runOnce<T>(fn: (session: Handle, key: Handle) => T): T {
    return this.session((session) => {
      this.#key ??= this.#findKey(session);
      return fn(session, this.#key);
    });
  }

  /** Runs `fn` on a logged-in session, without the key (keygen, before the key exists); no retry. */
  session<T>(fn: (session: Handle) => T): T {
    const session = this.#idle.pop() ?? this.#open();
    let keep = true;
    try {
      return fn(session);
    } catch (err) {
      keep = !isSessionLost(err);
      throw err;
    } finally {
      if (keep && this.#idle.length < MAX_IDLE) this.#idle.push(session);
      else this.#close(session);
    }
  }

  #close(session: Handle): void {
    try {
      this.#loaded.module.C_CloseSession(session);
    } catch {
      // A session the module already dropped cannot be closed; forgetting it is enough.
    }
  }

  /** Forgets every session and handle, so the next call finds slot, login and key again. */
  reset(): void {
    for (const session of this.#idle) this.#close(session);
    this.#idle = [];
    this.#slot = undefined;
    this.#key = undefined;
  }

  /**
   * Runs `fn` on a logged-in session with the key's handle. A lost session is
   * re-opened once; PKCS11_TOKEN_UNAVAILABLE when the token stays away.
   */
  run<T>(fn: (session: Handle, key: Handle) => T): T {
    try {
      return this.#runOnce(fn);
    } catch (err) {
      if (!isSessionLost(err)) throw err;
      this.reset();
      try {
        return this.#runOnce(fn);
      } catch (again) {
        if (
          isSessionLost(again) ||
          (again instanceof LockboxError &&
            (again.code === 'PKCS11_TOKEN_NOT_FOUND' || again.code === 'PKCS11_KEY_NOT_FOUND'))
        ) {
          throw new LockboxError(
            'PKCS11_TOKEN_UNAVAILABLE',
            `the token of ${this.#uri.display} went away and could not be reached again (${pkcs11ErrorName(again) ?? (again as LockboxError).code})`,
            { cause: again, details: { uri: this.#uri.display } },
          );
        }
        throw again;
      }
    }
  }
}
