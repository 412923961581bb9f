/**
 * The console's languages and the choice between them: a saved choice
 * (localStorage, so it survives sign-out and new tabs) wins over the browser's
 * preferred languages; English is the fallback.
 */
import type { KeyValueStorage } from '../lib/token-store.js';

export const LANGUAGES = ['en', 'ja'] as const;
export type Language = (typeof LANGUAGES)[number];

const KEY = 'lockbox.lang';

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** The saved language, else the first supported one the browser prefers, else English. */
export function initialLanguage(storage: KeyValueStorage, preferred: readonly string[]): Language {
  try {
    const saved = storage.getItem(KEY);
    if (isLanguage(saved)) return saved;
  } catch {
    // Storage can be disabled; fall through to the browser's preference.
  }
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLanguage(base)) return base;
  }
  return 'en';
}

export function saveLanguage(storage: KeyValueStorage, language: Language): void {
  try {
    storage.setItem(KEY, language);
  } catch {
    // Not persisted; the choice still holds for this page.
  }
}
