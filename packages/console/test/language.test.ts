/** Choosing the console's language: saved choice, then the browser's preference, then English. */
import { describe, expect, it } from 'vitest';
import { initialLanguage, saveLanguage } from '../src/i18n/language.js';
import { format, placeholders } from '../src/i18n/translate.js';
import { BROKEN_STORAGE, MemoryStorage } from './memory-storage.js';

describe('initialLanguage', () => {
  it('prefers a saved choice over the browser languages', () => {
    const storage = new MemoryStorage();
    saveLanguage(storage, 'ja');
    expect(initialLanguage(storage, ['en-US'])).toBe('ja');
  });

  it('takes the first supported browser language, region ignored', () => {
    expect(initialLanguage(new MemoryStorage(), ['fr-FR', 'ja-JP', 'en'])).toBe('ja');
  });

  it('falls back to English for unsupported languages, junk saved values and broken storage', () => {
    const storage = new MemoryStorage();
    storage.setItem('lockbox.lang', 'xx');
    expect(initialLanguage(storage, ['de'])).toBe('en');
    expect(initialLanguage(BROKEN_STORAGE, [])).toBe('en');
    expect(() => saveLanguage(BROKEN_STORAGE, 'ja')).not.toThrow();
  });
});

describe('format', () => {
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(format('Saved {name} (version {version}).', { name: 'db', version: 3 })).toBe(
      'Saved db (version 3).',
    );
    expect(format('Hello {who}')).toBe('Hello {who}');
  });

  it('does not treat JSON braces as placeholders', () => {
    expect(placeholders('such as {"owner": "payments"} for {name}')).toEqual(['name']);
  });
});
