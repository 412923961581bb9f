/**
 * Where the console keeps the pasted API token: sessionStorage, so it lives as
 * long as the tab and is gone when the tab closes. Never localStorage (it would
 * outlive the session), never a URL or a cookie (those travel and get logged).
 */
const KEY = 'lockbox.token';

/** The part of the Web Storage API this module needs. */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export class TokenStore {
  readonly #storage: KeyValueStorage;

  constructor(storage: KeyValueStorage) {
    this.#storage = storage;
  }

  /** The saved token, or null when there is none (or storage is unavailable). */
  load(): string | null {
    try {
      const token = this.#storage.getItem(KEY);
      return token === null || token === '' ? null : token;
    } catch {
      return null;
    }
  }

  /** Saves a token after trimming the whitespace a paste tends to bring. */
  save(token: string): string {
    const trimmed = token.trim();
    this.#storage.setItem(KEY, trimmed);
    return trimmed;
  }

  clear(): void {
    try {
      this.#storage.removeItem(KEY);
    } catch {
      // Nothing saved, nothing to forget.
    }
  }
}
