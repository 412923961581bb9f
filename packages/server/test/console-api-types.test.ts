/**
 * The console's API types are generated from this server's OpenAPI document
 * (packages/console/scripts/generate-api-types.mjs, over packages/server/dist):
 * the checked-in document and types must be what the server produces now, so a
 * route schema changed without regenerating them fails here; and the check
 * must notice a file that differs.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CONSOLE = fileURLToPath(new URL('../../console/', import.meta.url));
const SCRIPT = join(CONSOLE, 'scripts', 'generate-api-types.mjs');
const GENERATED = join(CONSOLE, 'src', 'api', 'generated');

function check(dir: string) {
  return spawnSync(process.execPath, [SCRIPT, '--check', '--out', dir], { encoding: 'utf8' });
}

describe("the console's generated API types", () => {
  const copy = mkdtempSync(join(tmpdir(), 'lockbox-api-types-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it("are the server's current OpenAPI document and its types", () => {
    const result = check(GENERATED);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('are reported stale when the document differs from what the server serves', () => {
    cpSync(GENERATED, copy, { recursive: true });
    const document = JSON.parse(readFileSync(join(copy, 'openapi.json'), 'utf8'));
    delete document.components.schemas.SecretValue;
    writeFileSync(join(copy, 'openapi.json'), `${JSON.stringify(document, null, 2)}\n`);
    const result = check(copy);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('stale: openapi.json');
  });
});
