import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '@lockbox/core';
import { describe, expect, it } from 'vitest';
import { EXIT, EXIT_CODE_GROUPS, exitCodeFor } from '../src/exit-codes.js';

const CLI_DOC = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

/** The exit-code table of docs/cli.md: exit code → the error codes its row lists. */
function documentedGroups(): Map<number, string[]> {
  const section = CLI_DOC.slice(CLI_DOC.indexOf('## Exit codes'));
  const groups = new Map<number, string[]>();
  for (const line of section.split('\n')) {
    const row = /^\| ([0-9]) \|[^|]*\|(.*)\|$/.exec(line);
    if (row === null) continue;
    groups.set(
      Number(row[1]),
      [...(row[2] as string).matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] as string),
    );
  }
  return groups;
}

describe('exit codes', () => {
  it('docs/cli.md lists exactly the table in exit-codes.ts', () => {
    const documented = documentedGroups();
    expect([...documented.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [exit, codes] of Object.entries(EXIT_CODE_GROUPS)) {
      expect(documented.get(Number(exit))?.sort(), `exit ${exit}`).toEqual([...codes].sort());
    }
  });

  it('maps every catalogued code exactly once, unlisted codes to 1', () => {
    const listed = Object.values(EXIT_CODE_GROUPS).flat();
    expect(new Set(listed).size).toBe(listed.length);
    for (const code of listed) expect(Object.keys(ERROR_CODES)).toContain(code);
    expect(exitCodeFor('STORE_FAILED')).toBe(EXIT.FAILURE);
    expect(exitCodeFor('KEY_WRONG')).toBe(EXIT.WRONG_KEY);
    expect(exitCodeFor('SECRET_NOT_FOUND')).toBe(EXIT.NOT_FOUND);
    expect(exitCodeFor('ROTATION_IN_PROGRESS')).toBe(EXIT.CONFLICT);
    expect(exitCodeFor('NAME_INVALID')).toBe(EXIT.USAGE);
  });
});
