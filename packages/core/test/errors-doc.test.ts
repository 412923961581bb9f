/**
 * docs/errors.md documents exactly the codes in ERROR_CODES, each under the same
 * group heading as its `// Group` comment in the catalogue.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';

const read = (relative: string) => readFileSync(new URL(relative, import.meta.url), 'utf8');

/** code → group, from `## Group` headings and `### \`CODE\`` entries. */
function documented(markdown: string): { docs: Map<string, string>; duplicates: string[] } {
  const codes = new Map<string, string>();
  const duplicates: string[] = [];
  let group = '';
  for (const line of markdown.split('\n')) {
    const heading = /^## (.+)$/.exec(line);
    if (heading) group = heading[1]!.trim();
    const entry = /^### `([A-Z][A-Z0-9_]*)`\s*$/.exec(line);
    if (entry) {
      if (codes.has(entry[1]!)) duplicates.push(entry[1]!);
      codes.set(entry[1]!, group);
    }
  }
  return { docs: codes, duplicates };
}

/** code → group, from the `// Group` comments above each run of codes in errors.ts. */
function catalogued(source: string): Map<string, string> {
  const body = source.slice(source.indexOf('export const ERROR_CODES'));
  const codes = new Map<string, string>();
  let group = '';
  for (const line of body.slice(0, body.indexOf('} as const')).split('\n')) {
    const comment = /^\s*\/\/\s*(.+)$/.exec(line);
    if (comment) group = comment[1]!.trim();
    const entry = /^\s*([A-Z][A-Z0-9_]*):/.exec(line);
    if (entry) codes.set(entry[1]!, group);
  }
  return codes;
}

describe('docs/errors.md', () => {
  const { docs, duplicates } = documented(read('../../../docs/errors.md'));
  const catalogue = catalogued(read('../src/errors.ts'));

  it('reads every code of the catalogue from errors.ts', () => {
    expect([...catalogue.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('documents every code in ERROR_CODES', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !docs.has(code));
    expect(missing, 'codes missing from docs/errors.md').toEqual([]);
  });

  it('documents no code that ERROR_CODES lacks', () => {
    const stale = [...docs.keys()].filter((code) => !(code in ERROR_CODES));
    expect(stale, 'docs/errors.md names codes that no longer exist').toEqual([]);
  });

  it('documents each code once', () => {
    expect(duplicates).toEqual([]);
  });

  it('puts each code under its catalogue group', () => {
    const misplaced = [...catalogue]
      .filter(([code, group]) => docs.has(code) && docs.get(code) !== group)
      .map(([code, group]) => `${code}: catalogue "${group}", docs "${docs.get(code)}"`);
    expect(misplaced).toEqual([]);
  });
});
