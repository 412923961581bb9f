/** TokenStore: the pasted token lives in session storage only. */
import { describe, expect, it } from 'vitest';
import { TokenStore } from '../src/lib/token-store.js';
import { BROKEN_STORAGE, MemoryStorage } from './memory-storage.js';

describe('TokenStore', () => {
  it('saves the token trimmed, loads it back and forgets it on clear', () => {
    const storage = new MemoryStorage();
    const store = new TokenStore(storage);
    expect(store.load()).toBeNull();
    expect(store.save('  lbx_id_secret\n')).toBe('lbx_id_secret');
    expect(store.load()).toBe('lbx_id_secret');
    store.clear();
    expect(store.load()).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it('treats unavailable storage as signed out instead of throwing', () => {
    const store = new TokenStore(BROKEN_STORAGE);
    expect(store.load()).toBeNull();
    expect(() => store.clear()).not.toThrow();
  });
});
