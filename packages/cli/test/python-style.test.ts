/**
 * The Python client is PEP 8 clean (pycodestyle, 99 columns): Biome does not lint
 * Python, so this does. pycodestyle comes from Debian's python3-pycodestyle
 * (.ci/run installs it); missing, the test fails rather than skip.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PYTHON_DIR = fileURLToPath(new URL('../../../clients/python/', import.meta.url));

describe('clients/python', () => {
  it('passes pycodestyle with a 99-column limit', () => {
    const result = spawnSync(
      '/usr/bin/python3',
      ['-m', 'pycodestyle', '--max-line-length=99', 'lockbox', 'tests', 'examples'],
      { cwd: PYTHON_DIR, encoding: 'utf8' },
    );
    expect(result.error).toBeUndefined();
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });
});
