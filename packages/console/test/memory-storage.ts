/** An in-memory stand-in for the Web Storage API (sessionStorage / localStorage) in node tests. */
import type { KeyValueStorage } from '../src/lib/token-store.js';

export class MemoryStorage implements KeyValueStorage {
  readonly items = new Map<string, string>();

  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }

  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/** Storage that throws on every call, as browsers do when storage is disabled. */
export const BROKEN_STORAGE: KeyValueStorage = {
  getItem: () => {
    throw new Error('SecurityError');
  },
  setItem: () => {
    throw new Error('SecurityError');
  },
  removeItem: () => {
    throw new Error('SecurityError');
  },
};
