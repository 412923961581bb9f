/**
 * The translation catalogues: English and Japanese have exactly the same keys
 * and placeholders, no message is empty or left untranslated, and every key is
 * used somewhere in src/ while every key src/ uses exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en.js';
import { ja } from '../src/i18n/ja.js';
import { placeholders } from '../src/i18n/translate.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const CATALOGUES = new Set([join(SRC, 'i18n', 'en.ts'), join(SRC, 'i18n', 'ja.ts')]);

/** Messages that are the same in Japanese on purpose. */
const SAME_IN_JAPANESE = new Set(['tokens.id']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !CATALOGUES.has(full) ? [full] : [];
  });
}

const sources = sourceFiles(SRC).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
const enKeys = Object.keys(en).sort();
const jaKeys = Object.keys(ja).sort();
/** Every quoted string in the sources that looks like a message key ("section.name"). */
const KEY_LITERAL = /['"`]([a-z][A-Za-z]*\.[a-z][A-Za-z]*)['"`]/g;
const literals = new Set(
  sources.flatMap(({ text }) => [...text.matchAll(KEY_LITERAL)].map((m) => m[1])),
);
/** Keys passed directly to t(...). */
const T_CALL = /\bt\(\s*['"`]([^'"`]+)['"`]/g;
const called = sources.flatMap(({ file, text }) =>
  [...text.matchAll(T_CALL)].map((m) => ({ file, key: m[1] ?? '' })),
);

describe('translation catalogues', () => {
  it('has no key in English that Japanese lacks', () => {
    expect(enKeys.filter((key) => !Object.hasOwn(ja, key))).toEqual([]);
  });

  it('has no key in Japanese that English lacks', () => {
    expect(jaKeys.filter((key) => !Object.hasOwn(en, key))).toEqual([]);
  });

  it('uses the same placeholders in both languages', () => {
    const mismatched = enKeys.filter((key) => {
      const english = en[key as keyof typeof en];
      const japanese = ja[key as keyof typeof ja];
      return placeholders(english).join() !== placeholders(japanese ?? '').join();
    });
    expect(mismatched).toEqual([]);
  });

  it('has no empty message and no Japanese message left in English', () => {
    const empty = [...enKeys, ...jaKeys].filter(
      (key) => (en[key as keyof typeof en] ?? ja[key as keyof typeof ja]).trim() === '',
    );
    expect(empty).toEqual([]);
    const untranslated = jaKeys.filter(
      (key) =>
        !SAME_IN_JAPANESE.has(key) &&
        !/[\u3040-\u30ff\u4e00-\u9fff]/.test(ja[key as keyof typeof ja]),
    );
    expect(untranslated).toEqual([]);
  });

  it('has no unused key: every key appears in src/', () => {
    expect(literals.size).toBeGreaterThan(50);
    expect(enKeys.filter((key) => !literals.has(key))).toEqual([]);
  });

  it('has every key src/ passes to t()', () => {
    expect(called.length).toBeGreaterThan(50);
    const unknown = called.filter(({ key }) => !Object.hasOwn(en, key));
    expect(unknown).toEqual([]);
  });
});
