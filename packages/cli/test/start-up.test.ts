/**
 * Start-up cost: every command but `serve` runs without loading the server
 * (Fastify and its plugins cost about half a second per invocation), so
 * registering the commands must not import it; nor a database driver, which is
 * required only when a store of its dialect is opened (pg cost every SQLite
 * command tens of milliseconds). The port `serve` shows as its default is
 * repeated in the CLI for that reason and must stay the server's.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { DEFAULT_PORT } from '@lockbox/server';
import { describe, expect, it } from 'vitest';
import { SERVE_DEFAULT_PORT } from '../src/commands/serve.js';
import { CLI_MAIN } from './helpers/cli.js';

describe('lockbox start-up', () => {
  it('registers every command without loading the server or a database driver', () => {
    const program = join(dirname(CLI_MAIN), 'program.js');
    const probe = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(program)});
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      const packages = ['fastify', 'pg', 'better-sqlite3'];
      console.log(JSON.stringify(packages.filter((name) => loaded.some((p) => p.includes(\`/node_modules/\${name}/\`)))));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual([]);
  });

  it("shows the server's default port", () => {
    expect(SERVE_DEFAULT_PORT).toBe(DEFAULT_PORT);
  });
});
